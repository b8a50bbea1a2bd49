// Every network we train learns with all of its parameters: after a backward pass on a real
// demo batch, every parameter tensor that requires grad has a non-zero gradient, and one
// optimiser step changes it (shared/DESIGN.md §4 "RHM", Initialisation; the project guide's
// "a model that runs is not a model that learns"). This is the test that catches a zero that
// cuts a branch's gradient for good — the FET fusion's BatchNorm γ = 0 before a ReLU once left
// MDTA, the frequency branch and the fusion of every FET block untrained.
//
// Families: the classifiers (resnet18/50, densenet121/densenet_small, vit_b_16/vit_tiny),
// `restormer`, `frerec_dae` with and without FESA, the demo GAN's generator, discriminator
// and class critic. Legitimate exceptions, each named where it is checked:
//   * ViT heads.head starts at 0 (torchvision's initialisation): in the very first step the
//     backbone's gradient is exactly 0; it is checked on the second step.
//   * DAE option zero_init_output: the output convolution starts at 0 (the untrained network
//     is the identity), with the same one-step delay for everything before it.
//   * The discriminator's final `linear.bias` under the hinge loss: while every real and every
//     fake margin is active (as at initialisation), its gradient is −1 + 1 = 0 exactly — the
//     real and fake terms cancel. It is checked through G's loss (−D(G(z))), where it is −1.
//   * Spectral-norm u/v vectors and BatchNorm running statistics are buffers, not parameters.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "datasets/demo/demo.h"
#include "models/classifiers/classifier.h"
#include "models/classifiers/registry.h"
#include "models/generators/gan.h"
#include "augmentations/frerec/rhm_loss.h"
#include "models/restoration/restormer.h"

namespace frerec {
namespace {

// A real demo batch: `n` images of the demo MRI (1 channel) or fundus (3 channels) task at
// `size`², alternating negative / positive, in [0,1].
at::Tensor demo_batch(int n, int channels, int size, at::Tensor* labels = nullptr) {
  std::vector<at::Tensor> images;
  std::vector<int64_t> classes;
  for (int i = 0; i < n; ++i) {
    const int label = i % 2;
    const std::uint64_t seed = datasets::demo::image_seed(channels == 1 ? "demo_mri" : "demo_fundus", 0, 0, label, i);
    const Image image = channels == 1 ? datasets::demo::render_mri(size, seed, label)
                                      : datasets::demo::render_fundus(size, seed, label);
    images.push_back(at::from_blob(const_cast<float*>(image.data.data()), {image.channels, image.height, image.width},
                                   at::kFloat)
                         .clone());
    classes.push_back(label);
  }
  if (labels != nullptr) *labels = at::tensor(classes, at::kLong);
  return at::stack(images);
}

// Names of parameters that require grad but got no gradient or an all-zero one.
std::vector<std::string> dead_parameters(const torch::nn::Module& module) {
  std::vector<std::string> dead;
  for (const auto& item : module.named_parameters()) {
    const at::Tensor& p = item.value();
    if (!p.requires_grad()) continue;
    if (!p.grad().defined() || p.grad().abs().max().item<double>() == 0.0) dead.push_back(item.key());
  }
  return dead;
}

std::map<std::string, at::Tensor> snapshot(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> copy;
  for (const auto& item : module.named_parameters()) copy[item.key()] = item.value().detach().clone();
  return copy;
}

std::vector<std::string> unchanged_parameters(const torch::nn::Module& module,
                                              const std::map<std::string, at::Tensor>& before) {
  std::vector<std::string> same;
  for (const auto& item : module.named_parameters())
    if (item.value().requires_grad() && at::equal(item.value().detach(), before.at(item.key())))
      same.push_back(item.key());
  return same;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < 12; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > 12) text += ", ... (" + std::to_string(names.size()) + " in all)";
  return text;
}

// After a backward pass: every parameter has a non-zero gradient, and the optimiser's next
// step changes every one of them.
void expect_every_parameter_learns(torch::nn::Module& module, torch::optim::Optimizer& optimizer,
                                   const std::string& label) {
  const auto dead = dead_parameters(module);
  EXPECT_TRUE(dead.empty()) << label << ": no gradient for " << joined(dead);
  const auto before = snapshot(module);
  optimizer.step();
  const auto same = unchanged_parameters(module, before);
  EXPECT_TRUE(same.empty()) << label << ": one AdamW step left unchanged " << joined(same);
}

// ---------------------------------------------------------------- classifiers
struct ClassifierCase {
  std::string name;
  int channels;
  int image_size;
  int warmup_steps;  // steps before the checked one (1 for ViT: zero-initialised head)
};

class ClassifierLiveness : public ::testing::TestWithParam<ClassifierCase> {};

TEST_P(ClassifierLiveness, EveryParameterGetsAGradientAndMoves) {
  at::set_num_threads(2);
  const ClassifierCase c = GetParam();
  models::register_classifiers();
  YAML::Node overrides;
  overrides["in_channels"] = c.channels;
  overrides["num_classes"] = 2;
  overrides["image_size"] = c.image_size;
  overrides["seed"] = 3;
  auto model = models::create_classifier(c.name, overrides);
  model->train();
  at::Tensor labels;
  const at::Tensor batch = demo_batch(4, c.channels, c.image_size, &labels);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3));
  for (int step = 0; step <= c.warmup_steps; ++step) {
    optimizer.zero_grad();
    const at::Tensor loss = torch::nn::functional::cross_entropy(model->forward(batch), labels);
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
    loss.backward();
    if (step < c.warmup_steps) optimizer.step();
  }
  expect_every_parameter_learns(*model, optimizer, c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Families, ClassifierLiveness,
    ::testing::Values(ClassifierCase{"resnet18", 1, 64, 0}, ClassifierCase{"resnet50", 3, 64, 0},
                      ClassifierCase{"densenet_small", 1, 64, 0}, ClassifierCase{"densenet121", 3, 64, 0},
                      // torchvision zero-initialises heads.head: the backbone's first gradient is 0.
                      ClassifierCase{"vit_tiny", 1, 64, 1}, ClassifierCase{"vit_b_16", 3, 64, 1}),
    [](const ::testing::TestParamInfo<ClassifierCase>& info) { return info.param.name; });

// ---------------------------------------------------------------- restoration
struct RestorationCase {
  std::string label;
  bool fesa;
  int channels;
  bool bias;
};

class RestorationLiveness : public ::testing::TestWithParam<RestorationCase> {};

restoration::RestormerOptions small_network(const RestorationCase& c) {
  restoration::RestormerOptions o;
  o.in_channels = o.out_channels = c.channels;
  o.dim = 8;
  o.num_blocks = {1, 1, 1, 1};
  o.num_refinement_blocks = 1;
  o.heads = {1, 2, 4, 8};
  o.fesa = c.fesa;
  o.bias = c.bias;
  o.ring_width = 2;
  o.angular_bins = 8;
  return o;
}

TEST_P(RestorationLiveness, EveryParameterGetsAGradientInTheFirstStep) {
  at::set_num_threads(2);
  const RestorationCase c = GetParam();
  restoration::Restormer net(small_network(c));
  restoration::initialize_parameters(*net, 5);
  net->train();
  // Denoising pair from real demo images: target x, input x + noise (the DAE's setting).
  const at::Tensor target = demo_batch(4, c.channels, 32);
  at::manual_seed(1);
  const at::Tensor input = (target + 0.05 * at::randn(target.sizes())).clamp(0, 1);
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(3e-4));
  optimizer.zero_grad();
  const auto loss = rhm::reconstruction_loss(net->forward(input), target, 1.0,
                                                     rhm::SpectralLoss::kAmplitude);
  loss.total.backward();
  expect_every_parameter_learns(*net, optimizer, c.label);
}

INSTANTIATE_TEST_SUITE_P(Families, RestorationLiveness,
                         ::testing::Values(RestorationCase{"restormer", false, 3, false},
                                           RestorationCase{"restormer_bias", false, 1, true},
                                           RestorationCase{"frerec_dae_fesa", true, 1, false},
                                           RestorationCase{"frerec_dae_fesa_rgb", true, 3, true},
                                           RestorationCase{"frerec_dae_no_fesa", false, 1, false}),
                         [](const ::testing::TestParamInfo<RestorationCase>& info) { return info.param.label; });

// FESA is not decoration: training the same network with and without it gives different
// outputs, and inside a FET block both branches change the block's output.
TEST(RestorationLiveness, BothFesaBranchesChangeTheBlockOutputAfterTraining) {
  at::set_num_threads(2);
  RestorationCase c{"fesa", true, 1, false};
  restoration::Restormer net(small_network(c));
  restoration::initialize_parameters(*net, 5);
  net->train();
  const at::Tensor target = demo_batch(4, 1, 32);
  at::manual_seed(2);
  const at::Tensor input = (target + 0.05 * at::randn(target.sizes())).clamp(0, 1);
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-3));
  for (int step = 0; step < 5; ++step) {
    optimizer.zero_grad();
    rhm::reconstruction_loss(net->forward(input), target, 1.0, rhm::SpectralLoss::kAmplitude)
        .total.backward();
    optimizer.step();
  }
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor full = net->forward(input);
  // Silence one branch at a time by zeroing its last projection; the output must move.
  for (const std::string& branch : {".attn.project_out.weight", ".freq.project.weight"}) {
    std::map<std::string, at::Tensor> saved;
    for (auto& item : net->named_parameters())
      if (item.key().size() > branch.size() &&
          item.key().compare(item.key().size() - branch.size(), branch.size(), branch) == 0) {
        saved[item.key()] = item.value().clone();
        item.value().zero_();
      }
    ASSERT_FALSE(saved.empty()) << branch;
    const double change = (net->forward(input) - full).abs().max().item<double>();
    EXPECT_GT(change, 1e-5) << "silencing " << branch << " does not change the output";
    for (auto& item : net->named_parameters())
      if (saved.count(item.key())) item.value().copy_(saved.at(item.key()));
  }
}

// ---------------------------------------------------------------- demo GAN
TEST(GanLiveness, GeneratorDiscriminatorAndClassCriticAllLearn) {
  at::set_num_threads(2);
  at::manual_seed(7);
  generators::GanArchitecture a;  // the demo's 64² grayscale architecture
  generators::Generator g(a);
  generators::Discriminator d(a);
  generators::ClassCritic critic(a.channels, a.num_classes);
  g->train();
  d->train();
  critic->train();
  at::Tensor labels;
  const at::Tensor real = demo_batch(4, a.channels, a.image_size, &labels) * 2 - 1;  // G and D work in [-1,1]

  // Class critic: cross-entropy on the real images.
  critic->zero_grad();
  torch::nn::functional::cross_entropy(critic->forward(real), labels).backward();
  const auto dead_critic = dead_parameters(*critic);
  EXPECT_TRUE(dead_critic.empty()) << "class critic: no gradient for " << joined(dead_critic);

  // Discriminator: hinge loss on real images and detached fakes.
  const at::Tensor z = at::randn({4, a.z_dim});
  const at::Tensor fake = g->forward(z, labels);
  d->zero_grad();
  (at::relu(1 - d->forward(real, labels)).mean() + at::relu(1 + d->forward(fake.detach(), labels)).mean())
      .backward();
  auto dead_d = dead_parameters(*d);
  // The hinge loss's cancelling bias gradient (see the top); every other tensor must be live.
  dead_d.erase(std::remove(dead_d.begin(), dead_d.end(), "linear.bias"), dead_d.end());
  EXPECT_TRUE(dead_d.empty()) << "discriminator: no gradient for " << joined(dead_d);
  d->zero_grad();
  (-d->forward(fake.detach(), labels).mean()).backward();
  EXPECT_NE(d->linear->bias.grad().abs().max().item<double>(), 0.0);

  // Generator: −D(G(z)) plus the class critic's cross-entropy, as in train_gan.
  g->zero_grad();
  (-d->forward(fake, labels).mean() + torch::nn::functional::cross_entropy(critic->forward(fake), labels))
      .backward();
  const auto dead_g = dead_parameters(*g);
  EXPECT_TRUE(dead_g.empty()) << "generator: no gradient for " << joined(dead_g);
}

}  // namespace
}  // namespace frerec
