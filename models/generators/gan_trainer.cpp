#include "models/generators/gan_trainer.h"

#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/core/random.h"
#include "framework/core/system_info.h"
#include "framework/io/state_dict.h"
#include "framework/train/checkpoint.h"
#include "framework/train/sample_source.h"
#include "framework/train/trainer.h"
#include "models/generators/diff_augment.h"
#include "models/generators/gan.h"
#include "models/generators/generator_io.h"
#include "models/generators/sample_grid.h"

namespace frerec::generators {
namespace fs = std::filesystem;

namespace {

// derive_seed streams of this trainer (first part), apart from the per-step stream.
constexpr std::uint64_t kInitStream = 101, kStepStream = 102, kBatchStatsStream = 103, kCriticStream = 104;
constexpr std::uint64_t kGridSeed = 0;  // latents of the progress grids: seed 0, indices 0..n-1

using Clock = std::chrono::steady_clock;

at::Tensor to_batch_tensor(const std::vector<Image>& images) {
  const Image& first = images.front();
  const std::size_t per = first.size();
  at::Tensor out = at::empty({static_cast<int64_t>(images.size()), first.channels, first.height, first.width});
  float* data = out.data_ptr<float>();
  for (std::size_t i = 0; i < images.size(); ++i) std::copy(images[i].data.begin(), images[i].data.end(), data + i * per);
  return out;
}

std::vector<Image> to_images(const at::Tensor& batch) {
  const at::Tensor t = batch.detach().contiguous();
  const int n = static_cast<int>(t.size(0)), c = static_cast<int>(t.size(1)), h = static_cast<int>(t.size(2)),
            w = static_cast<int>(t.size(3));
  const float* data = t.data_ptr<float>();
  std::vector<Image> images;
  for (int i = 0; i < n; ++i) {
    Image image(c, h, w);
    std::copy(data + static_cast<std::size_t>(i) * image.size(), data + static_cast<std::size_t>(i + 1) * image.size(),
              image.data.begin());
    images.push_back(std::move(image));
  }
  return images;
}

// EMA G images for the progress grid: seed 0, indices 0..n-1 of each class.
std::vector<Image> grid_images(Generator& generator, int label, int count) {
  std::vector<int64_t> indices(static_cast<std::size_t>(count));
  for (int k = 0; k < count; ++k) indices[static_cast<std::size_t>(k)] = k;
  at::NoGradGuard no_grad;
  const Latents latents = latents_for(*generator, kGridSeed, label, indices);
  const at::Tensor out = generator->forward(latents.z, at::full({count}, label, at::kLong), latents.noise);
  return to_images(((out + 1.0) * 0.5).clamp(0.0, 1.0));
}

struct Networks {
  Generator g{nullptr};
  Discriminator d{nullptr};
  Generator g_ema{nullptr};
  ClassCritic critic{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
};

// The training state (framework/train/checkpoint.h, kind "gan"): G, D, EMA G, the class
// critic, both optimisers, the step and the training log so far.
void save_state(const fs::path& path, Networks& nets, long step, const std::string& fingerprint,
                const std::string& log_text) {
  train::Checkpoint checkpoint;
  checkpoint.kind = "gan";
  checkpoint.fingerprint = fingerprint;
  checkpoint.meta = {{"step", step}, {"log", log_text}};
  checkpoint.add_module("generator", *nets.g);
  checkpoint.add_module("discriminator", *nets.d);
  checkpoint.add_module("generator_ema", *nets.g_ema);
  checkpoint.add_module("critic", *nets.critic);
  checkpoint.add_optimizer("generator", *nets.opt_g);
  checkpoint.add_optimizer("discriminator", *nets.opt_d);
  checkpoint.add_rng();
  train::write_checkpoint(path, checkpoint);
}

void load_module(torch::nn::Module& module, const train::Checkpoint& checkpoint, const std::string& name,
                 const std::string& what) {
  io::load_state(module, checkpoint.module(name), /*strict=*/true, what);
}

// Returns the step of the state, after loading it into `nets`; -1 if absent.
long load_state(const fs::path& path, Networks& nets, const std::string& fingerprint, std::string& log_text) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return -1;
  const train::Checkpoint checkpoint = train::read_checkpoint(path, "gan", "generator");
  if (checkpoint.fingerprint != fingerprint)
    throw RunError("generator: the training state in '" + path.parent_path().string() +
                   "' was made with other generator settings or other training data; rerun with --fresh to start "
                   "over, or choose another --out");
  load_module(*nets.g, checkpoint, "generator", "generator: state G");
  load_module(*nets.d, checkpoint, "discriminator", "generator: state D");
  load_module(*nets.g_ema, checkpoint, "generator_ema", "generator: state EMA G");
  load_module(*nets.critic, checkpoint, "critic", "generator: state class critic");
  checkpoint.load_optimizer("generator", *nets.opt_g);
  checkpoint.load_optimizer("discriminator", *nets.opt_d);
  try {
    log_text = checkpoint.meta.at("log").get<std::string>();
    return checkpoint.meta.at("step").get<long>();
  } catch (const nlohmann::json::exception& e) {
    throw RunError("generator: training state '" + path.string() + "' has an incomplete meta record (" + e.what() +
                   "); delete it or rerun with --fresh");
  }
}

void check_finite(double value, const std::string& what, long step) {
  if (!std::isfinite(value))
    throw RunError(fmt::format("generator: {} is {} at step {}; lower generator.lr_g / lr_d or change the seed", what,
                               value, step));
}

}  // namespace

// ---------------------------------------------------------------- options
config::Schema generator_schema() {
  config::Schema s;
  s.add_int("z_dim", 64, "latent size of G", 1, 4096);
  s.add_int("embed_dim", 32, "class embedding concatenated with z (0 = conditional BN only)", 0, 4096);
  s.add_int("g_width", 8, "G channels at the output resolution (doubling per halving, capped)", 1, 4096);
  s.add_int("g_max_width", 128, "cap of G's channel count", 1, 4096);
  s.add_int("d_width", 32, "D channels after its first downsampling (doubling per halving, capped)", 1, 4096);
  s.add_int("d_max_width", 256, "cap of D's channel count", 1, 4096);
  s.add_int("d_mbstd_group", 4, "minibatch standard-deviation group size in D (0 = off)", 0, 64);
  s.add_int("g_zmod", 1, "z-dependent BN gains/biases in G (self-modulation; 0 = class only)", 0, 1);
  s.add_int("g_noise", 1, "per-pixel noise injection in G's up blocks (FastGAN NoiseInjection; 0 = off)", 0, 1);
  s.add_int("steps", 1800, "training iterations (one D and one G update each); raise it to continue a run", 1, 100000000);
  s.add_int("batch_size", 16, "real (and fake) images per iteration", 1, 4096);
  s.add_float("lr_g", 2e-4, "Adam learning rate of G", 0.0, 1.0);
  s.add_float("lr_d", 2e-4, "Adam learning rate of D", 0.0, 1.0);
  s.add_float("beta1", 0.5, "Adam β1", 0.0, 1.0);
  s.add_float("beta2", 0.999, "Adam β2", 0.0, 1.0);
  s.add_string("loss", "hinge", "adversarial loss", {"hinge", "nonsaturating"});
  s.add_float("ema_decay", 0.995, "EMA decay of G's weights (warm-up min(decay, (1+t)/(10+t)))", 0.0, 1.0);
  s.add_float("diversity", 10.0,
              "weight of the diversity hinge in G's loss: same-class fake pairs at 1/4 resolution should differ as "
              "much as real pairs (0 = off)",
              0.0, 1000.0);
  s.add_float("class_weight", 1.0,
              "weight of the class critic's cross-entropy on G's images (a CNN trained on the real images, then "
              "frozen; 0 = projection conditioning only)",
              0.0, 1000.0);
  s.add_int("critic_steps", 800, "training steps (batch 32, Adam 1e-3) of the class critic before the GAN", 1,
            1000000);
  s.add_string("diff_augment", "translation",
               "DiffAugment ops on all images D sees: any of color,translation,cutout (or none)");
  s.add_int("seed", 0, "seed of initialisation and every training draw", 0);
  s.add_int("sample_every", 300, "write an EMA-G sample grid every N steps (and at the end)", 1, 100000000);
  s.add_int("checkpoint_every", 300, "write the full training state every N steps (and at the end)", 1, 100000000);
  s.add_int("log_every", 50, "append losses to train_log.jsonl every N steps", 1, 100000000);
  s.add_int("grid_per_class", 8, "images per class in the sample grids", 1, 64);
  s.add_int("bn_stats_batches", 8, "batches for G's standing BatchNorm statistics", 1, 10000);
  s.add_int("bn_stats_batch", 64, "images per standing-statistics batch", 2, 4096);
  return s;
}

void GanTrainOptions::validate() const {
  auto fail = [](const std::string& key, const std::string& value, const std::string& fix) {
    throw ConfigError("generator: generator." + key + "=" + value + " " + fix);
  };
  if (steps < 1) fail("steps", std::to_string(steps), "must be >= 1");
  if (batch_size < 1) fail("batch_size", std::to_string(batch_size), "must be >= 1");
  if (!(lr_g > 0)) fail("lr_g", fmt::format("{}", lr_g), "must be > 0");
  if (!(lr_d > 0)) fail("lr_d", fmt::format("{}", lr_d), "must be > 0");
  if (beta1 < 0 || beta1 >= 1) fail("beta1", fmt::format("{}", beta1), "must be in [0, 1)");
  if (beta2 < 0 || beta2 >= 1) fail("beta2", fmt::format("{}", beta2), "must be in [0, 1)");
  if (loss != "hinge" && loss != "nonsaturating") fail("loss", loss, "must be hinge or nonsaturating");
  if (!(class_weight >= 0)) fail("class_weight", fmt::format("{}", class_weight), "must be >= 0");
  if (critic_steps < 1) fail("critic_steps", std::to_string(critic_steps), "must be >= 1");
  if (ema_decay < 0 || ema_decay >= 1) fail("ema_decay", fmt::format("{}", ema_decay), "must be in [0, 1)");
  parse_diff_augment(diff_augment, "generator.diff_augment");
  if (sample_every < 1 || checkpoint_every < 1 || log_every < 1)
    fail("sample_every/checkpoint_every/log_every", "0", "must be >= 1");
  if (g_max_width < g_width) fail("g_max_width", std::to_string(g_max_width), "must be >= g_width");
  if (d_max_width < d_width) fail("d_max_width", std::to_string(d_max_width), "must be >= d_width");
}

std::string GanTrainOptions::fingerprint() const {
  nlohmann::json j = nlohmann::json::parse(canonical());
  for (const char* key : {"steps", "sample_every", "checkpoint_every", "log_every", "grid_per_class"}) j.erase(key);
  return j.dump();
}

std::string GanTrainOptions::canonical() const {
  const nlohmann::json j = {{"z_dim", z_dim}, {"embed_dim", embed_dim}, {"g_width", g_width},
                            {"g_max_width", g_max_width}, {"d_width", d_width}, {"d_max_width", d_max_width},
                            {"d_mbstd_group", d_mbstd_group}, {"g_noise", g_noise}, {"g_zmod", g_zmod}, {"steps", steps}, {"batch_size", batch_size}, {"lr_g", lr_g}, {"lr_d", lr_d},
                            {"beta1", beta1}, {"beta2", beta2}, {"loss", loss}, {"ema_decay", ema_decay}, {"diversity", diversity}, {"class_weight", class_weight}, {"critic_steps", critic_steps},
                            {"diff_augment", diff_augment}, {"seed", seed}, {"sample_every", sample_every},
                            {"checkpoint_every", checkpoint_every}, {"log_every", log_every},
                            {"grid_per_class", grid_per_class}, {"bn_stats_batches", bn_stats_batches},
                            {"bn_stats_batch", bn_stats_batch}};
  return j.dump();
}

GanTrainOptions gan_options_from(const config::Params& p) {
  GanTrainOptions o;
  o.z_dim = p.get<int>("z_dim");
  o.embed_dim = p.get<int>("embed_dim");
  o.g_width = p.get<int>("g_width");
  o.g_max_width = p.get<int>("g_max_width");
  o.d_width = p.get<int>("d_width");
  o.d_max_width = p.get<int>("d_max_width");
  o.d_mbstd_group = p.get<int>("d_mbstd_group");
  o.g_noise = p.get<int>("g_noise");
  o.g_zmod = p.get<int>("g_zmod");
  o.steps = p.get<long>("steps");
  o.batch_size = p.get<int>("batch_size");
  o.lr_g = p.get<double>("lr_g");
  o.lr_d = p.get<double>("lr_d");
  o.beta1 = p.get<double>("beta1");
  o.beta2 = p.get<double>("beta2");
  o.loss = p.get<std::string>("loss");
  o.ema_decay = p.get<double>("ema_decay");
  o.diversity = p.get<double>("diversity");
  o.class_weight = p.get<double>("class_weight");
  o.critic_steps = p.get<long>("critic_steps");
  o.diff_augment = p.get<std::string>("diff_augment");
  o.seed = p.get<std::uint64_t>("seed");
  o.sample_every = p.get<long>("sample_every");
  o.checkpoint_every = p.get<long>("checkpoint_every");
  o.log_every = p.get<long>("log_every");
  o.grid_per_class = p.get<int>("grid_per_class");
  o.bn_stats_batches = p.get<int>("bn_stats_batches");
  o.bn_stats_batch = p.get<int>("bn_stats_batch");
  o.validate();
  return o;
}

std::string training_data_fingerprint(const std::vector<Image>& images, const std::vector<int>& labels) {
  Hasher hasher;
  hasher.update("frerec.generators.data/1").update_pod(static_cast<std::uint64_t>(images.size()));
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Image& image = images[i];
    hasher.update_pod(image.channels).update_pod(image.height).update_pod(image.width);
    hasher.update(image.data.data(), image.data.size() * sizeof(float));
    hasher.update_pod(i < labels.size() ? labels[i] : -1);
  }
  return hasher.hex();
}

// ---------------------------------------------------------------- class critic
namespace {

// Accuracy on the (unaugmented) images; freezes the critic in eval mode.
double critic_accuracy(ClassCritic& critic, const at::Tensor& real, const at::Tensor& labels) {
  at::NoGradGuard no_grad;
  critic->eval();
  for (auto& p : critic->parameters()) p.requires_grad_(false);
  int64_t correct = 0;
  const int64_t n = real.size(0);
  for (int64_t start = 0; start < n; start += 256) {
    const int64_t count = std::min<int64_t>(256, n - start);
    correct += critic->forward(real.narrow(0, start, count)).argmax(1).eq(labels.narrow(0, start, count)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

// Trains the class critic on the real images (translation-augmented like D's inputs) with
// Adam 1e-3, batch 32; returns its accuracy on the unaugmented images. Leaves it frozen in
// eval mode.
double train_critic(ClassCritic& critic, const at::Tensor& real, const at::Tensor& labels, const GanTrainOptions& options,
                    const std::vector<AugmentOp>& augment) {
  critic->train();
  torch::optim::Adam optimizer(critic->parameters(), torch::optim::AdamOptions(1e-3));
  const int64_t n = real.size(0);
  const int64_t batch = std::min<int64_t>(32, n);
  for (long step = 1; step <= options.critic_steps; ++step) {
    train::seed_global_torch(random::derive_seed(options.seed, {kCriticStream, static_cast<std::uint64_t>(step)}));
    const at::Tensor index = at::randint(0, n, {batch}, at::kLong);
    const at::Tensor loss =
        at::cross_entropy_loss(critic->forward(diff_augment(real.index_select(0, index), augment)),
                               labels.index_select(0, index));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    check_finite(loss.item<double>(), "the class critic's loss", step);
  }
  return critic_accuracy(critic, real, labels);
}


}  // namespace

// ---------------------------------------------------------------- training
namespace {

// The architecture the training images ask for, after checking they can train a GAN.
GanArchitecture architecture_for(const GanTrainOptions& options, const GanTrainData& data) {
  if (data.images.empty()) throw RunError("generator: no training images for task '" + data.task + "'");
  if (data.labels.size() != data.images.size())
    throw InternalError("generator: one label per training image is required");
  GanArchitecture arch;
  arch.image_size = data.images.front().height;
  arch.channels = data.images.front().channels;
  arch.num_classes = data.num_classes;
  arch.z_dim = options.z_dim;
  arch.embed_dim = options.embed_dim;
  arch.g_width = options.g_width;
  arch.g_max_width = options.g_max_width;
  arch.d_width = options.d_width;
  arch.d_max_width = options.d_max_width;
  arch.d_mbstd_group = options.d_mbstd_group;
  arch.g_noise = options.g_noise;
  arch.g_zmod = options.g_zmod;
  if (data.images.front().width != arch.image_size)
    throw ConfigError(fmt::format("generator: training images are {}x{}; the GAN needs square images",
                                  data.images.front().height, data.images.front().width));
  arch.validate("data");
  for (const Image& image : data.images)
    if (!image.same_shape(data.images.front()))
      throw RunError("generator: training images of different shapes in task '" + data.task + "'");
  for (int label : data.labels)
    if (label < 0 || label >= data.num_classes)
      throw RunError(fmt::format("generator: label {} outside [0, {})", label, data.num_classes));
  return arch;
}

// `fresh` removes what an earlier run left in out_dir.
void prepare_output(const fs::path& out_dir, bool fresh) {
  fs::create_directories(out_dir);
  if (!fresh) return;
  std::error_code ec;
  fs::remove(out_dir / "state.pt", ec);
  fs::remove(out_dir / "train_log.jsonl", ec);
  fs::remove(out_dir / "generator.safetensors", ec);
  fs::remove_all(out_dir / "samples", ec);
}

// G, D, the EMA copy of G and the class critic, initialised from the seed, and the optimisers.
Networks build_networks(const GanArchitecture& arch, const GanTrainOptions& options) {
  train::seed_global_torch(random::derive_seed(options.seed, {kInitStream}));
  Networks nets;
  nets.g = Generator(arch);
  nets.d = Discriminator(arch);
  nets.g_ema = Generator(arch);
  nets.critic = ClassCritic(arch.channels, arch.num_classes);
  io::load_state(*nets.g_ema, io::state_dict(*nets.g), /*strict=*/true, "generator: EMA copy");
  nets.opt_g = std::make_unique<torch::optim::Adam>(
      nets.g->parameters(), torch::optim::AdamOptions(options.lr_g).betas({options.beta1, options.beta2}));
  nets.opt_d = std::make_unique<torch::optim::Adam>(
      nets.d->parameters(), torch::optim::AdamOptions(options.lr_d).betas({options.beta1, options.beta2}));
  return nets;
}

// What one training step measured (the log averages them over log_every steps).
struct StepStats {
  double d_loss = 0, g_loss = 0, d_real = 0, d_fake = 0, real_std = 0, fake_std = 0;
  double real_pairs = 0, fake_pairs = 0, class_loss = 0;
  StepStats& operator+=(const StepStats& o) {
    d_loss += o.d_loss, g_loss += o.g_loss, d_real += o.d_real, d_fake += o.d_fake, real_std += o.real_std;
    fake_std += o.fake_std, real_pairs += o.real_pairs, fake_pairs += o.fake_pairs, class_loss += o.class_loss;
    return *this;
  }
};

// Everything a step needs besides the networks.
struct StepContext {
  const GanTrainOptions& options;
  const GanArchitecture& arch;
  const std::vector<AugmentOp>& augment;
  const at::Tensor& real_all;
  const at::Tensor& labels_all;
};

// D step: real and fake through D as one batch (two batches when the minibatch-std groups do
// not divide the batch). Returns the loss and D's mean outputs on real and fake.
at::Tensor discriminator_step(Networks& nets, const StepContext& c, const at::Tensor& real, const at::Tensor& labels,
                              StepStats& stats) {
  const int64_t batch = c.options.batch_size;
  at::Tensor fake;
  {
    at::NoGradGuard no_grad;
    fake = nets.g->forward(at::randn({batch, c.arch.z_dim}), labels);
  }
  for (auto& p : nets.d->parameters()) p.requires_grad_(true);
  at::Tensor d_real, d_fake;
  if (c.options.d_mbstd_group <= 1 || batch % c.options.d_mbstd_group == 0) {
    const at::Tensor both = diff_augment(at::cat({real, fake}, 0), c.augment);
    const at::Tensor logits = nets.d->forward(both, at::cat({labels, labels}, 0));
    d_real = logits.narrow(0, 0, batch);
    d_fake = logits.narrow(0, batch, batch);
  } else {
    d_real = nets.d->forward(diff_augment(real, c.augment), labels);
    d_fake = nets.d->forward(diff_augment(fake, c.augment), labels);
  }
  const bool hinge = c.options.loss == "hinge";
  const at::Tensor loss_d = hinge ? at::relu(1.0 - d_real).mean() + at::relu(1.0 + d_fake).mean()
                                  : at::softplus(-d_real).mean() + at::softplus(d_fake).mean();
  nets.opt_d->zero_grad();
  loss_d.backward();
  nets.opt_d->step();
  stats.d_real = d_real.mean().item<double>();
  stats.d_fake = d_fake.mean().item<double>();
  return loss_d;
}

// G step (D frozen: gradients only reach the images): adversarial loss, the class critic's
// cross-entropy and the diversity hinge. Returns the loss and the generated batch.
std::pair<at::Tensor, at::Tensor> generator_step(Networks& nets, const StepContext& c, const at::Tensor& real,
                                                 const at::Tensor& labels, StepStats& stats) {
  const GanTrainOptions& options = c.options;
  const int64_t batch = options.batch_size;
  for (auto& p : nets.d->parameters()) p.requires_grad_(false);
  const at::Tensor z_g = at::randn({batch, c.arch.z_dim});
  // With the diversity term, the second half repeats the first half's classes so that each
  // pair (i, i + B/2) differs in z (and noise) only.
  const bool seek = options.diversity > 0 && batch >= 2;
  const int64_t half = batch / 2;
  const at::Tensor g_labels = seek ? at::cat({labels.narrow(0, 0, half), labels.narrow(0, 0, batch - half)}, 0) : labels;
  const at::Tensor generated = nets.g->forward(z_g, g_labels);
  const at::Tensor augmented = diff_augment(generated, c.augment);
  const at::Tensor g_logits = nets.d->forward(augmented, g_labels);
  at::Tensor loss_g = options.loss == "hinge" ? -g_logits.mean() : at::softplus(-g_logits).mean();
  if (options.class_weight > 0) {
    const at::Tensor class_loss = at::cross_entropy_loss(nets.critic->forward(augmented), g_labels);
    loss_g = loss_g + options.class_weight * class_loss;
    stats.class_loss = class_loss.item<double>();
  }
  if (seek) {
    // Diversity hinge: pairs (i, i + B/2) of the same class should differ, at 1/4
    // resolution (structure, not pixel noise), at least as much as pairs of real images
    // of this step's batch do; pairs that already do cost nothing (unlike MSGAN's
    // unbounded ratio, which a few off-manifold samples can satisfy for all).
    auto coarse_distance = [&](const at::Tensor& images) {
      const at::Tensor pooled = at::avg_pool2d(images, {4, 4});
      return (pooled.narrow(0, 0, half) - pooled.narrow(0, half, half)).abs().mean({1, 2, 3});
    };
    const at::Tensor target = coarse_distance(real).mean().detach();
    const at::Tensor fake_distance = coarse_distance(generated);
    loss_g = loss_g + options.diversity * at::relu(target - fake_distance).mean();
    stats.real_pairs = target.item<double>();
    stats.fake_pairs = fake_distance.mean().item<double>();
  }
  nets.opt_g->zero_grad();
  loss_g.backward();
  nets.opt_g->step();
  return {loss_g, generated};
}

// One iteration: a real batch drawn with the step's seed, a D step, a G step, the EMA update.
StepStats gan_step(Networks& nets, const StepContext& c, long step) {
  const GanTrainOptions& options = c.options;
  train::seed_global_torch(random::derive_seed(options.seed, {kStepStream, static_cast<std::uint64_t>(step)}));
  const at::Tensor index = at::randint(0, c.real_all.size(0), {options.batch_size}, at::kLong);
  const at::Tensor real = c.real_all.index_select(0, index);
  const at::Tensor labels = c.labels_all.index_select(0, index);
  StepStats stats;
  const at::Tensor loss_d = discriminator_step(nets, c, real, labels, stats);
  const auto [loss_g, generated] = generator_step(nets, c, real, labels, stats);
  {
    at::NoGradGuard no_grad;
    const double decay = std::min(options.ema_decay, (1.0 + step) / (10.0 + step));
    auto ema_params = nets.g_ema->parameters();
    auto g_params = nets.g->parameters();
    for (std::size_t i = 0; i < ema_params.size(); ++i) ema_params[i].mul_(decay).add_(g_params[i], 1.0 - decay);
  }
  stats.d_loss = loss_d.item<double>();
  stats.g_loss = loss_g.item<double>();
  check_finite(stats.d_loss, "the discriminator loss", step);
  check_finite(stats.g_loss, "the generator loss", step);
  // Diversity: per-pixel std over the batch, averaged (collapse drives the fake one to 0).
  stats.fake_std = generated.detach().std(0).mean().item<double>();
  stats.real_std = real.std(0).mean().item<double>();
  return stats;
}

// One line of train_log.jsonl: the means over the interval's steps.
nlohmann::json log_line(long step, const StepStats& sum, long steps, double seconds) {
  const double n = static_cast<double>(steps);
  return {{"step", step},
          {"d_loss", sum.d_loss / n},
          {"g_loss", sum.g_loss / n},
          {"d_real", sum.d_real / n},
          {"d_fake", sum.d_fake / n},
          {"real_std", sum.real_std / n},
          {"fake_std", sum.fake_std / n},
          {"real_pair_distance", sum.real_pairs / n},
          {"fake_pair_distance", sum.fake_pairs / n},
          {"class_loss", sum.class_loss / n},
          {"seconds", seconds},
          {"steps_per_second", n / std::max(seconds, 1e-9)}};
}

// samples/step_NNNNNNN.png: the EMA G (with standing statistics) and the raw G, one row per class.
void write_progress_grid(Networks& nets, const GanTrainOptions& options, const GanTrainData& data,
                         const fs::path& out_dir, long step) {
  nets.g_ema->recompute_batch_stats(options.bn_stats_batches, options.bn_stats_batch,
                                    random::derive_seed(options.seed, {kBatchStatsStream}));
  std::vector<GridRow> rows;
  for (int label = 0; label < data.num_classes; ++label)
    rows.push_back({"EMA " + data.class_names.at(static_cast<std::size_t>(label)),
                    grid_images(nets.g_ema, label, options.grid_per_class)});
  nets.g->eval();
  for (int label = 0; label < data.num_classes; ++label)
    rows.push_back({"raw G " + data.class_names.at(static_cast<std::size_t>(label)),
                    grid_images(nets.g, label, options.grid_per_class)});
  nets.g->train();
  write_image_grid(out_dir / "samples" / fmt::format("step_{:07d}.png", step),
                   fmt::format("{} generator, step {}", data.task, step), rows);
}

// generator.safetensors: the EMA generator with standing statistics and what made it.
fs::path export_generator(Networks& nets, const GanTrainOptions& options, const GanTrainData& data,
                          const fs::path& out_dir, long step, const GanTrainResult& result) {
  nets.g_ema->recompute_batch_stats(options.bn_stats_batches, options.bn_stats_batch,
                                    random::derive_seed(options.seed, {kBatchStatsStream}));
  std::map<std::string, std::string> metadata = {
      {"task", data.task},
      {"data_section", data.data_section_yaml},
      {"data_fingerprint", result.data_fingerprint},
      {"training_images", std::to_string(data.images.size())},
      {"steps", std::to_string(step)},
      {"seed", std::to_string(options.seed)},
      {"train_config", options.canonical()},
      {"command_line", data.command_line},
      {"created", iso_time_utc()},
      {"frerec_version", frerec_version()},
      {"git_commit", git_commit()},
      {"class_names", fmt::format("{}", fmt::join(data.class_names, ","))},
      {"standing_stats", fmt::format("{}x{}", options.bn_stats_batches, options.bn_stats_batch)},
      {"critic_accuracy", fmt::format("{:.4f}", result.critic_accuracy)}};
  const fs::path file = out_dir / "generator.safetensors";
  save_generator(file, nets.g_ema, metadata);
  return file;
}

// The class critic: trained before the first GAN step, or (resumed) its accuracy re-measured.
double prepare_critic(Networks& nets, const StepContext& c, long step) {
  if (step > 0) return critic_accuracy(nets.critic, c.real_all, c.labels_all);
  const auto critic_start = Clock::now();
  const double accuracy = train_critic(nets.critic, c.real_all, c.labels_all, c.options, c.augment);
  spdlog::info("generator: class critic trained ({} steps, {:.1f} s): accuracy {:.3f} on the training images",
               c.options.critic_steps, std::chrono::duration<double>(Clock::now() - critic_start).count(), accuracy);
  return accuracy;
}

}  // namespace

GanTrainResult train_gan(const GanTrainOptions& options, const GanTrainData& data, const fs::path& out_dir,
                         const RunContext& context, bool fresh, long max_steps_this_run) {
  options.validate();
  const GanArchitecture arch = architecture_for(options, data);
  const std::vector<AugmentOp> augment = parse_diff_augment(options.diff_augment, "generator.diff_augment");
  if (context.device != "cpu")
    spdlog::warn("generator: training runs on the CPU (device '{}' requested; the demo GANs are CPU-sized)",
                 context.device);
  GanTrainResult result;
  result.data_fingerprint = training_data_fingerprint(data.images, data.labels);
  const std::string fingerprint = options.fingerprint() + ";arch=" + arch.describe() + ";data=" + result.data_fingerprint;
  prepare_output(out_dir, fresh);
  const fs::path state_path = out_dir / "state.pt", log_path = out_dir / "train_log.jsonl";

  // Networks: initialised from the seed, then (maybe) overwritten by the saved state.
  Networks nets = build_networks(arch, options);
  std::string log_text;
  long step = std::max(0L, load_state(state_path, nets, fingerprint, log_text));
  result.resumed = step > 0;
  if (result.resumed) spdlog::info("generator: resuming {} from step {} ({})", data.task, step, state_path.string());
  spdlog::info("generator: {} on {} images ({}), G {} parameters, D {} parameters, {} steps of batch {}", data.task,
               data.images.size(), arch.describe(), count_parameters(*nets.g), count_parameters(*nets.d),
               options.steps, options.batch_size);

  const at::Tensor real_all = to_batch_tensor(data.images) * 2.0 - 1.0;
  std::vector<int64_t> label_values(data.labels.begin(), data.labels.end());
  const at::Tensor labels_all = at::from_blob(label_values.data(), {static_cast<int64_t>(label_values.size())}, at::kLong).clone();
  const StepContext c{options, arch, augment, real_all, labels_all};
  if (options.class_weight > 0) result.critic_accuracy = prepare_critic(nets, c, step);

  const long target = max_steps_this_run > 0 ? std::min(options.steps, step + max_steps_this_run) : options.steps;
  // Progress (and its ETA) counts this run's steps; the status shows the global step.
  const long start_step = step;
  Progress progress("generator " + data.task, static_cast<std::size_t>(std::max(0L, target - start_step)),
                    context.interactive);
  const auto run_start = Clock::now();
  auto interval_start = Clock::now();
  StepStats interval;
  long interval_steps = 0;
  nets.g->train();
  nets.d->train();
  nets.g_ema->eval();
  while (step < target) {
    ++step;
    const StepStats stats = gan_step(nets, c, step);
    interval += stats;
    ++interval_steps;
    ++result.steps_this_run;
    progress.set(static_cast<std::size_t>(step - start_step),
                 fmt::format("step {}/{} D {:.3f} G {:.3f}", step, options.steps, stats.d_loss, stats.g_loss));
    if (step % options.log_every == 0 || step == options.steps) {
      const double seconds = std::chrono::duration<double>(Clock::now() - interval_start).count();
      log_text += log_line(step, interval, interval_steps, seconds).dump() + "\n";
      write_file_atomic(log_path, log_text);
      interval = StepStats();
      interval_steps = 0;
      interval_start = Clock::now();
    }
    if (step % options.sample_every == 0 || step == options.steps) write_progress_grid(nets, options, data, out_dir, step);
    if (step % options.checkpoint_every == 0 || step == options.steps || step == target)
      save_state(state_path, nets, step, fingerprint, log_text);
  }
  result.steps = step;
  result.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  result.steps_per_second = result.steps_this_run / std::max(result.seconds, 1e-9);
  progress.finish(fmt::format("{} steps this run, {:.2f} steps/s", result.steps_this_run, result.steps_per_second));
  if (step < options.steps) {
    spdlog::info("generator: stopped at step {} of {} (state saved; run again to continue)", step, options.steps);
    return result;
  }
  result.generator_file = export_generator(nets, options, data, out_dir, step, result);
  spdlog::info("generator: wrote {} ({} steps, {:.1f} s this run)", result.generator_file.string(), step, result.seconds);
  return result;
}

}  // namespace frerec::generators
