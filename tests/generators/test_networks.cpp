// Networks of models/generators: shapes at 64² and 128² with 1 and 3 channels, spectral
// normalisation against PyTorch's torch.nn.utils.spectral_norm (golden fixture) and an SVD,
// DiffAugment invariants and gradients, and a few training steps (finite losses, weights
// change, exact resume).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include <cmath>
#include <fstream>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/train/checkpoint.h"
#include "models/generators/diff_augment.h"
#include "models/generators/gan.h"
#include "models/generators/gan_trainer.h"
#include "models/generators/spectral_norm.h"

namespace frerec::generators {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("frerec_generators_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

GanArchitecture architecture(int size, int channels) {
  GanArchitecture a;
  a.image_size = size;
  a.channels = channels;
  return a;
}

// ---------------------------------------------------------------- shapes
class Shapes : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(Shapes, GeneratorAndDiscriminator) {
  const auto [size, channels] = GetParam();
  at::manual_seed(0);
  const GanArchitecture a = architecture(size, channels);
  Generator g(a);
  Discriminator d(a);
  const at::Tensor labels = at::tensor({0, 1, 1}, at::kLong);
  g->train();
  const at::Tensor images = g->forward(at::randn({3, a.z_dim}), labels);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, channels, size, size}));
  EXPECT_LE(images.max().item<float>(), 1.0f);
  EXPECT_GE(images.min().item<float>(), -1.0f);
  const at::Tensor logits = d->forward(images, labels);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3}));
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  g->eval();
  d->eval();
  EXPECT_EQ(g->forward(at::randn({2, a.z_dim}), at::tensor({1, 0}, at::kLong)).sizes(),
            (std::vector<int64_t>{2, channels, size, size}));
  // One up block per doubling from 4, one skip-layer excitation per resolution >= 32.
  int doublings = 0;
  for (int r = 8; r <= size; r *= 2) ++doublings;
  EXPECT_EQ(static_cast<int>(g->up->size()), doublings);
  EXPECT_EQ(static_cast<int>(g->excite->size()), size == 64 ? 2 : 3);
  EXPECT_EQ(static_cast<int>(d->down->size()), doublings);
  // Small enough to ship (< 10 MB as float32) and to sample quickly on a CPU.
  EXPECT_LT(count_parameters(*g) * 4, 10'000'000) << count_parameters(*g);
}

INSTANTIATE_TEST_SUITE_P(SizesAndChannels, Shapes,
                         ::testing::Values(std::make_pair(64, 1), std::make_pair(64, 3), std::make_pair(128, 1),
                                           std::make_pair(128, 3)),
                         [](const auto& info) {
                           return std::to_string(info.param.first) + "px_" + std::to_string(info.param.second) + "ch";
                         });

TEST(Architecture, ParameterCountsOfTheDefaults) {
  // Hand count of the 64×64×1 defaults (z 64, embed 32, G 8..128 with self-modulated
  // conditional BN and noise injection, D 32..256), so a change of the architecture is a
  // deliberate one (README.md lists these numbers).
  const GanArchitecture a = architecture(64, 1);
  auto conv = [](int64_t in, int64_t out, int64_t k) { return in * out * k * k; };
  auto cbn = [](int64_t features) { return 2 * 2 * features + 2 * 64 * features; };  // class + z gains/biases
  int64_t g = 2 * 32;                                              // class embedding
  g += conv(96, 256, 4) + cbn(256);                                 // init: ConvT (z+e → 2·128)
  const int64_t width[] = {128, 64, 32, 16, 8};                     // at 4, 8, 16, 32, 64
  for (int i = 1; i < 5; ++i) g += conv(width[i - 1], 2 * width[i], 3) + cbn(2 * width[i]) + 1;  // + noise weight
  g += conv(128, 16, 4) + conv(16, 16, 1);                          // SLE 4 → 32
  g += conv(64, 8, 4) + conv(8, 8, 1);                              // SLE 8 → 64
  g += conv(8, 1, 3) + 1;                                           // to_image
  EXPECT_EQ(count_parameters(*Generator(a)), g);
  int64_t d = 0;
  const int64_t dwidth[] = {1, 32, 64, 128, 256};  // input, then at 32, 16, 8, 4
  for (int i = 1; i < 5; ++i)
    d += conv(dwidth[i - 1], dwidth[i], 4) + conv(dwidth[i], dwidth[i], 3) + conv(dwidth[i - 1], dwidth[i], 1) +
         3 * dwidth[i];
  d += conv(256 + 1, 256, 3) + 256;  // final conv after the minibatch-stddev channel
  d += 256 + 1 + 2 * 256;             // linear + projection embedding
  EXPECT_EQ(count_parameters(*Discriminator(a)), d);
}

TEST(Architecture, InvalidSettingsAreConfigErrors) {
  GanArchitecture a = architecture(48, 1);
  EXPECT_THROW(a.validate("data"), ConfigError);
  a = architecture(64, 2);
  try {
    a.validate("data");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.channels=2"), std::string::npos) << e.what();
  }
}

TEST(Architecture, ClassConditioningChangesTheImage) {
  at::manual_seed(1);
  Generator g(architecture(64, 1));
  g->eval();
  at::NoGradGuard no_grad;
  const at::Tensor z = at::randn({1, 64});
  const at::Tensor a = g->forward(z, at::tensor({0}, at::kLong));
  const at::Tensor b = g->forward(z, at::tensor({1}, at::kLong));
  // At initialisation the class enters through the input embedding only (the conditional
  // BN gains start equal), so the difference is small but present.
  EXPECT_GT((a - b).abs().max().item<float>(), 0.0f);
}

TEST(Architecture, MinibatchStddevKeepsGroupsOfConsecutiveImages) {
  at::manual_seed(2);
  at::Tensor x = at::randn({8, 3, 4, 4});
  x.narrow(0, 4, 4).fill_(0.5);  // the second group is constant: its std channel is ~0
  const at::Tensor y = minibatch_stddev(x, 4);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{8, 4, 4, 4}));
  EXPECT_TRUE(at::equal(y.narrow(1, 0, 3), x));
  const at::Tensor first = x.narrow(0, 0, 4);
  const double expected = at::sqrt(first.var(0, false) + 1e-8).mean().item<double>();
  EXPECT_NEAR(y[0][3][0][0].item<double>(), expected, 1e-6);
  EXPECT_NEAR(y[3][3][2][1].item<double>(), expected, 1e-6);
  EXPECT_NEAR(y[5][3][1][1].item<double>(), 1e-4, 1e-6);  // sqrt(0 + 1e-8)
  // A batch that is not a multiple of the group uses the largest divisor (here 3).
  EXPECT_EQ(minibatch_stddev(at::randn({6, 2, 4, 4}), 4).size(1), 3);
}

// ---------------------------------------------------------------- spectral norm
std::vector<double> values(const nlohmann::json& j) { return j.get<std::vector<double>>(); }

at::Tensor tensor_of(const std::vector<double>& v, at::IntArrayRef shape) {
  return at::tensor(v, at::kDouble).reshape(shape).clone();
}

void expect_close(const at::Tensor& actual, const std::vector<double>& expected, double tolerance, const std::string& what) {
  const at::Tensor flat = actual.detach().reshape({-1}).to(at::kDouble).contiguous();
  ASSERT_EQ(static_cast<std::size_t>(flat.numel()), expected.size()) << what;
  const double* data = flat.data_ptr<double>();
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(data[i], expected[i], tolerance) << what << " [" << i << "]";
}

TEST(SpectralNorm, MatchesPyTorchSpectralNorm) {
  std::ifstream in(std::string(FREREC_SOURCE_DIR) + "/tests/golden/generators/spectral_norm.json");
  ASSERT_TRUE(in) << "missing golden fixture";
  const nlohmann::json golden = nlohmann::json::parse(in);
  ASSERT_EQ(golden["cases"].size(), 2u);
  for (const auto& c : golden["cases"]) {
    const auto shape = c["shape"].get<std::vector<int64_t>>();
    SpectralNorm sn(tensor_of(values(c["weight_orig"]), shape), c["power_iterations"].get<int>());
    {
      at::NoGradGuard no_grad;
      sn->weight_u.copy_(at::tensor(values(c["u0"]), at::kDouble));
      sn->weight_v.copy_(at::tensor(values(c["v0"]), at::kDouble));
    }
    sn->train();
    for (const auto& step : c["steps"]) {
      const at::Tensor w = sn->weight();
      expect_close(w, values(step["weight"]), 1e-12, c["name"].get<std::string>() + " weight");
      expect_close(sn->weight_u, values(step["u"]), 1e-12, c["name"].get<std::string>() + " u");
      expect_close(sn->weight_v, values(step["v"]), 1e-12, c["name"].get<std::string>() + " v");
    }
    sn->eval();
    expect_close(sn->weight(), values(c["eval_weight"]), 1e-12, c["name"].get<std::string>() + " eval");
  }
}

TEST(SpectralNorm, PowerIterationConvergesToTheLargestSingularValue) {
  at::manual_seed(3);
  for (const auto& shape : std::vector<std::vector<int64_t>>{{16, 8, 3, 3}, {5, 40}, {64, 32, 4, 4}}) {
    SpectralNorm sn(at::randn(shape, at::kDouble), 1);
    sn->train();
    for (int i = 0; i < 300; ++i) sn->weight();
    const at::Tensor matrix = sn->weight_orig.reshape({shape[0], -1});
    const double largest = at::linalg_svdvals(matrix).max().item<double>();
    EXPECT_NEAR(sn->sigma().item<double>(), largest, 1e-6 * largest);
    // The normalised weight then has spectral norm 1.
    EXPECT_NEAR(at::linalg_svdvals(sn->weight().reshape({shape[0], -1})).max().item<double>(), 1.0, 1e-6);
  }
}

TEST(SpectralNorm, GradientFlowsToTheWeightOnly) {
  at::manual_seed(4);
  SNConv2d conv(2, 3, 3, 1, 1);
  conv->train();
  const at::Tensor x = at::randn({2, 2, 6, 6}).requires_grad_();
  conv->forward(x).sum().backward();
  EXPECT_TRUE(conv->sn->weight_orig.grad().defined());
  EXPECT_GT(conv->sn->weight_orig.grad().abs().sum().item<float>(), 0.0f);
  EXPECT_FALSE(conv->sn->weight_u.requires_grad());
  EXPECT_GT(x.grad().abs().sum().item<float>(), 0.0f);
}

// ---------------------------------------------------------------- DiffAugment
TEST(DiffAugment, PolicyParsing) {
  EXPECT_EQ(parse_diff_augment("color,translation,cutout", "k").size(), 3u);
  EXPECT_TRUE(parse_diff_augment("none", "k").empty());
  EXPECT_TRUE(parse_diff_augment("", "k").empty());
  try {
    parse_diff_augment("color,flip", "generator.diff_augment");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'flip'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("generator.diff_augment"), std::string::npos) << e.what();
  }
}

TEST(DiffAugment, TranslationShiftsWithZeroPadding) {
  at::manual_seed(5);
  const int64_t n = 32, s = 16;
  const at::Tensor x = at::rand({n, 2, s, s}) + 1.0;  // values in [1, 2): padding 0 is recognisable
  const at::Tensor y = augment_translation(x);
  ASSERT_EQ(y.sizes(), x.sizes());
  // Each output image is the input shifted by one integer (dy, dx) with |d| <= 2 (16/8), zeros
  // where it reads outside.
  const at::Tensor padded = at::constant_pad_nd(x, {2, 2, 2, 2}, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    bool found = false;
    for (int dy = -2; dy <= 2 && !found; ++dy)
      for (int dx = -2; dx <= 2 && !found; ++dx)
        found = at::equal(padded[i].narrow(1, 2 + dy, s).narrow(2, 2 + dx, s), y[i]);
    EXPECT_TRUE(found) << "image " << i << " is not a zero-padded integer shift";
  }
}

TEST(DiffAugment, CutoutZeroesOneClippedSquare) {
  at::manual_seed(6);
  const int64_t n = 64, s = 16;
  const at::Tensor x = at::ones({n, 3, s, s});
  const at::Tensor y = augment_cutout(x);
  for (int64_t i = 0; i < n; ++i) {
    const at::Tensor zero = (y[i][0] == 0);
    EXPECT_TRUE(at::equal(y[i][0], y[i][1]) && at::equal(y[i][0], y[i][2]));  // same mask on every channel
    const at::Tensor rows = zero.any(1).nonzero(), cols = zero.any(0).nonzero();
    ASSERT_GT(rows.numel(), 0);
    const int64_t h = rows.numel(), w = cols.numel();
    EXPECT_LE(h, s / 2);
    EXPECT_LE(w, s / 2);
    EXPECT_EQ(zero.sum().item<int64_t>(), h * w);  // a rectangle
    // Clipped only at the border: a square of side 8 unless it touches an edge.
    const bool at_edge_rows = rows.min().item<int64_t>() == 0 || rows.max().item<int64_t>() == s - 1;
    if (!at_edge_rows) {
      EXPECT_EQ(h, s / 2);
    }
  }
}

TEST(DiffAugment, ColourIsPerImageAffineAndGrayStaysGray) {
  at::manual_seed(7);
  const at::Tensor x = at::rand({8, 1, 12, 12}) * 2 - 1;
  const at::Tensor y = augment_color(x);
  // For one channel: saturation is the identity, so y = a·x + b per image (a > 0).
  for (int64_t i = 0; i < 8; ++i) {
    const at::Tensor xi = x[i].reshape({-1}), yi = y[i].reshape({-1});
    const double a = ((yi[1] - yi[0]) / (xi[1] - xi[0])).item<double>();
    EXPECT_GT(a, 0.49);
    EXPECT_LT(a, 1.51);
    EXPECT_TRUE(at::allclose(yi, (xi - xi[0]) * a + yi[0], 1e-4, 1e-5));
  }
}

TEST(DiffAugment, IsDifferentiable) {
  at::manual_seed(8);
  const at::Tensor x = at::randn({4, 3, 16, 16}).requires_grad_();
  const auto ops = parse_diff_augment("color,translation,cutout", "k");
  diff_augment(x, ops).pow(2).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<float>(), 0.0f);
}

// ---------------------------------------------------------------- training
GanTrainOptions tiny_options(long steps) {
  GanTrainOptions o;
  o.z_dim = 8;
  o.embed_dim = 4;
  o.g_width = 4;
  o.g_max_width = 32;
  o.d_width = 8;
  o.d_max_width = 32;
  o.steps = steps;
  o.batch_size = 4;
  o.log_every = 1;
  o.sample_every = 2;
  o.checkpoint_every = 2;
  o.grid_per_class = 3;
  o.bn_stats_batches = 2;
  o.bn_stats_batch = 8;
  o.critic_steps = 5;
  return o;
}

GanTrainData tiny_data() {
  GanTrainData data;
  at::manual_seed(9);
  for (int i = 0; i < 12; ++i) {
    const at::Tensor t = at::rand({1, 32, 32}).contiguous();
    Image image(1, 32, 32);
    std::copy(t.data_ptr<float>(), t.data_ptr<float>() + image.size(), image.data.begin());
    data.images.push_back(std::move(image));
    data.labels.push_back(i % 2);
  }
  data.task = "tiny";
  data.data_section_yaml = "name: tiny";
  data.command_line = "test";
  return data;
}

// One network of a training state (framework/train/checkpoint.h, kind "gan").
std::map<std::string, at::Tensor> state_tensors(const fs::path& state, const std::string& key) {
  return train::read_checkpoint(state, "gan", "test").module(key);
}

double max_difference(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b,
                      const std::string& suffix) {
  double m = 0;
  for (const auto& [key, tensor] : a)
    if (key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0)
      m = std::max(m, (tensor.to(at::kDouble) - b.at(key).to(at::kDouble)).abs().max().item<double>());
  return m;
}

TEST(Training, FewStepsChangeWeightsKeepLossesFiniteAndResumeExactly) {
  at::set_num_threads(1);
  const fs::path dir = fresh_dir("train");
  RunContext ctx;
  const GanTrainData data = tiny_data();

  // Two steps, then two more as a resumed run.
  GanTrainResult first = train_gan(tiny_options(2), data, dir / "resumed", ctx, false);
  EXPECT_EQ(first.steps, 2);
  EXPECT_FALSE(first.resumed);
  const auto g2 = state_tensors(dir / "resumed/state.pt", "generator");
  const auto d2 = state_tensors(dir / "resumed/state.pt", "discriminator");
  GanTrainResult second = train_gan(tiny_options(4), data, dir / "resumed", ctx, false);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.steps_this_run, 2);
  const auto g4 = state_tensors(dir / "resumed/state.pt", "generator");
  const auto d4 = state_tensors(dir / "resumed/state.pt", "discriminator");
  EXPECT_GT(max_difference(g2, g4, "weight"), 0.0);       // G's convolutions moved
  EXPECT_GT(max_difference(d2, d4, "weight_orig"), 0.0);  // D's spectrally normalised weights moved

  // Losses are finite and logged once per step.
  std::ifstream log(dir / "resumed/train_log.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(std::isfinite(j["d_loss"].get<double>()));
    EXPECT_TRUE(std::isfinite(j["g_loss"].get<double>()));
    ++lines;
  }
  EXPECT_EQ(lines, 4);
  EXPECT_TRUE(fs::exists(dir / "resumed/samples/step_0000002.png"));
  EXPECT_TRUE(fs::exists(dir / "resumed/samples/step_0000004.png"));
  EXPECT_TRUE(fs::exists(dir / "resumed/generator.safetensors"));

  // Four steps in one go give exactly the same state (no RNG state needs saving).
  train_gan(tiny_options(4), data, dir / "straight", ctx, false);
  const auto straight = state_tensors(dir / "straight/state.pt", "generator");
  EXPECT_EQ(max_difference(g4, straight, ""), 0.0);
  EXPECT_EQ(max_difference(state_tensors(dir / "straight/state.pt", "generator_ema"),
                           state_tensors(dir / "resumed/state.pt", "generator_ema"), ""),
            0.0);

  // Other settings with an existing state: a clear error suggesting --fresh; fresh works.
  GanTrainOptions other = tiny_options(4);
  other.lr_g = 1e-3;
  try {
    train_gan(other, data, dir / "resumed", ctx, false);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("--fresh"), std::string::npos) << e.what();
  }
  EXPECT_EQ(train_gan(other, data, dir / "resumed", ctx, true).steps_this_run, 4);
  fs::remove_all(dir);
}

TEST(ClassCritic, ShapesAndItLearnsALocalMark) {
  at::set_num_threads(1);
  at::manual_seed(3);
  for (int channels : {1, 3}) {
    ClassCritic critic(channels, 2);
    EXPECT_EQ(critic->forward(at::rand({3, channels, 64, 64}) * 2 - 1).sizes(), (std::vector<int64_t>{3, 2}));
  }
  // Positives carry a bright 3×3 mark somewhere on a noisy background (a stand-in for the
  // demo's lesions); the critic trained inside train_gan must separate them.
  GanTrainData data;
  for (int i = 0; i < 64; ++i) {
    at::Tensor t = at::rand({1, 32, 32}) * 0.5;
    if (i % 2 == 1) {
      const int y = 4 + (i * 7) % 22, x = 4 + (i * 11) % 22;
      t.narrow(1, y, 3).narrow(2, x, 3).fill_(1.0);
    }
    Image image(1, 32, 32);
    t = t.contiguous();
    std::copy(t.data_ptr<float>(), t.data_ptr<float>() + image.size(), image.data.begin());
    data.images.push_back(std::move(image));
    data.labels.push_back(i % 2);
  }
  data.task = "marks";
  data.data_section_yaml = "name: marks";
  data.command_line = "test";
  GanTrainOptions o = tiny_options(1);
  o.critic_steps = 150;
  const fs::path dir = fresh_dir("critic");
  RunContext ctx;
  const GanTrainResult result = train_gan(o, data, dir, ctx, false);
  EXPECT_GE(result.critic_accuracy, 0.9);
  EXPECT_FALSE(state_tensors(dir / "state.pt", "critic").empty());
  // Resuming reports the stored critic's accuracy instead of training a new one.
  o.steps = 2;
  EXPECT_DOUBLE_EQ(train_gan(o, data, dir, ctx, false).critic_accuracy, result.critic_accuracy);
  fs::remove_all(dir);
}

TEST(Training, OptionsFromTheSchemaAndTheirErrors) {
  const config::Schema schema = generator_schema();
  const YAML::Node defaults = schema.validate(YAML::Node(), "generator", config::Provenance());
  const GanTrainOptions o = gan_options_from(config::Params(defaults, "generator"));
  EXPECT_EQ(o.lr_g, 2e-4);
  EXPECT_EQ(o.beta1, 0.5);
  EXPECT_EQ(o.loss, "hinge");
  EXPECT_EQ(o.diff_augment, "translation");  // the demo recipe (README.md: why not all three)
  EXPECT_EQ(o.ema_decay, 0.995);
  EXPECT_EQ(o.diversity, 10.0);
  EXPECT_EQ(o.class_weight, 1.0);
  EXPECT_EQ(o.critic_steps, 800);
  YAML::Node bad = YAML::Clone(defaults);
  bad["diff_augment"] = "colour,zoom";
  EXPECT_THROW(gan_options_from(config::Params(bad, "generator")), ConfigError);
  // `steps` may grow without invalidating a saved state; the rest may not.
  GanTrainOptions more = o;
  more.steps = o.steps * 2;
  EXPECT_EQ(more.fingerprint(), o.fingerprint());
  more.batch_size = 8;
  EXPECT_NE(more.fingerprint(), o.fingerprint());
}

}  // namespace
}  // namespace frerec::generators
