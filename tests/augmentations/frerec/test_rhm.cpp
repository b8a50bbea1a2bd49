// RHM (augmentations/frerec/rhm.h, rhm_loss.h): a short run of the auto-encoder's training lowers
// the validation loss, exact resume, inference padding/shapes, checkpoints and weights I/O,
// the bad-input errors, and the loss of Eq. 7.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/utils.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "augmentations/frerec/rhm.h"
#include "augmentations/frerec/rhm_loss.h"
#include "framework/cache/hdf5_io.h"
#include "framework/core/error.h"
#include "framework/io/state_dict.h"
#include "framework/train/checkpoint.h"
#include "models/restoration/restormer.h"
#include "models/restoration/weights.h"

namespace frerec::rhm {
namespace {
using namespace frerec::restoration;  // the networks RHM trains
using io::load_state;
using io::named_state;

namespace fs = std::filesystem;

// Smooth random images: a few low-frequency cosines, in [0.1, 0.9].
Image smooth_image(int channels, int size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Image image(channels, size, size);
  for (int c = 0; c < channels; ++c) {
    double fy[3], fx[3], ph[3], amp[3];
    for (int k = 0; k < 3; ++k) fy[k] = 3 * u(rng), fx[k] = 3 * u(rng), ph[k] = 6.28 * u(rng), amp[k] = u(rng);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        double v = 0;
        for (int k = 0; k < 3; ++k) v += amp[k] * std::cos(6.283 * (fy[k] * y + fx[k] * x) / size + ph[k]);
        image.at(c, y, x) = static_cast<float>(0.5 + 0.4 * std::tanh(v / 2));
      }
  }
  return image;
}

Image add_noise(const Image& image, std::uint64_t seed, double sigma) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, sigma);
  Image out = image;
  for (auto& v : out.data) v = static_cast<float>(std::min(1.0, std::max(0.0, v + n(rng))));
  return out;
}

RestormerOptions tiny_network(int channels = 1) {
  RestormerOptions o = cpu_dae_options();
  o.in_channels = o.out_channels = channels;
  o.dim = 8;
  o.num_blocks = {1, 1, 1, 1};
  o.num_refinement_blocks = 1;
  o.heads = {1, 2, 2, 4};
  o.angular_bins = 8;
  return o;
}

DaePairs noisy_pairs(std::size_t count, int size, std::uint64_t seed) {
  DaePairs pairs;
  for (std::size_t i = 0; i < count; ++i) pairs.targets.push_back(smooth_image(1, size, seed + i));
  pairs.perturb = [](std::size_t, const Image& target, std::uint64_t s) { return add_noise(target, s, 0.1); };
  return pairs;
}

DaeTrainOptions tiny_options(const fs::path& dir) {
  DaeTrainOptions o;
  o.network_yaml = tiny_network().to_yaml();
  o.epochs = 4;
  o.batch_size = 4;
  o.patch_size = 16;
  o.steps_per_epoch = 8;
  o.lr = 2e-3;
  o.min_lr = 1e-4;
  o.seed = 11;
  o.checkpoint_dir = dir;
  return o;
}

// Trains `options` with an interruption at the end of epoch 1, then resumes it to the end.
DaeTrainResult interrupted_then_resumed(const DaeTrainOptions& options, const DaePairs& train, const DaePairs& val,
                                        const RunContext& context) {
  struct Interrupt {};
  EXPECT_THROW(train_dae(options, train, val, context,
                         [](const DaeProgress& p) {
                           if (p.epoch_end && p.epoch == 1) throw Interrupt{};
                         }),
               Interrupt);
  return train_dae(options, train, val, context);
}

class DaeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("frerec_dae_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    context_.threads = 1;  // tiny ops: a second thread only adds synchronisation on a shared machine
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  RunContext context_;
};

TEST_F(DaeTest, ShortTrainingLowersValidationLossAndBeatsTheNoisyInput) {
  const auto train = noisy_pairs(12, 32, 100), val = noisy_pairs(4, 32, 500);
  int progress_calls = 0, epoch_ends = 0;
  double last_eta = -1;
  auto result = train_dae(tiny_options(dir_ / "run"), train, val, context_, [&](const DaeProgress& p) {
    ++progress_calls;
    if (p.epoch_end) ++epoch_ends;
    last_eta = p.eta_seconds;
    EXPECT_LE(p.step, p.total_steps);
  });
  ASSERT_EQ(result.history.size(), 4u);
  EXPECT_EQ(progress_calls, 4 * 8 + 4);
  EXPECT_EQ(epoch_ends, 4);
  EXPECT_NEAR(last_eta, 0.0, 1e-9);
  const auto& first = result.history.front();
  const auto& last = result.history.back();
  EXPECT_LT(last.val_loss, first.val_loss);
  EXPECT_GT(last.val_psnr, first.val_psnr);
  EXPECT_GT(last.val_psnr, last.input_psnr);  // denoises better than doing nothing
  EXPECT_GT(last.val_ssim, 0.5);
  EXPECT_TRUE(fs::exists(result.last_checkpoint));
  EXPECT_TRUE(fs::exists(result.best_checkpoint));
  EXPECT_EQ(checkpoint_fingerprint(result.last_checkpoint).size(), 64u);

  // Inference from the checkpoint: odd sizes come back with their shape, clamped to [0,1].
  const DaeModel model = DaeModel::load(result.last_checkpoint);
  EXPECT_EQ(model.channels(), 1);
  std::vector<Image> inputs = {add_noise(smooth_image(1, 32, 9), 1, 0.1), smooth_image(1, 13, 3),
                               Image(1, 21, 35, 0.5f), Image(1, 5, 3, 1.0f), smooth_image(1, 13, 4)};
  const auto outputs = model.restore(inputs, 2);
  ASSERT_EQ(outputs.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_TRUE(outputs[i].same_shape(inputs[i])) << i;
    for (float v : outputs[i].data) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
  }
  // Batching does not change results (eval mode: BatchNorm uses running statistics).
  const auto single = model.restore({inputs[1]}, 1);
  for (std::size_t k = 0; k < single[0].size(); ++k) ASSERT_NEAR(single[0].data[k], outputs[1].data[k], 1e-5);
  EXPECT_GT(psnr(outputs[0], smooth_image(1, 32, 9)), psnr(inputs[0], smooth_image(1, 32, 9)));
}

TEST_F(DaeTest, ResumeAfterInterruptionEqualsUninterruptedRun) {
  const auto train = noisy_pairs(6, 24, 1), val = noisy_pairs(2, 24, 50);
  auto options = tiny_options(dir_ / "straight");
  options.epochs = 2;
  options.steps_per_epoch = 3;
  options.patch_size = 16;
  const auto straight = train_dae(options, train, val, context_);

  options.checkpoint_dir = dir_ / "interrupted";
  const auto resumed = interrupted_then_resumed(options, train, val, context_);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.start_epoch, 1);
  ASSERT_EQ(resumed.history.size(), 2u);
  EXPECT_EQ(resumed.history[1].val_loss, straight.history[1].val_loss);
  EXPECT_EQ(resumed.history[1].train_loss, straight.history[1].train_loss);
  const auto a = named_state(*Restormer(tiny_network()));
  auto model_a = DaeModel::load(straight.last_checkpoint), model_b = DaeModel::load(resumed.last_checkpoint);
  const Image probe = smooth_image(1, 24, 77);
  const auto out_a = model_a.restore({probe}), out_b = model_b.restore({probe});
  EXPECT_EQ(out_a[0].data, out_b[0].data);

  // A finished run resumes to a no-op; another config in the same folder is refused.
  const auto again = train_dae(options, train, val, context_);
  EXPECT_EQ(again.history.size(), 2u);
  options.lr = 1e-3;
  EXPECT_THROW(train_dae(options, train, val, context_), RunError);
}

// precise_bn_batches: after each epoch every BatchNorm's running statistics are the plain mean
// over that many training batches (cumulative average, num_batches_tracked = the count); the
// weights train exactly as without it (BatchNorm uses batch statistics in training).
TEST_F(DaeTest, PreciseBatchNormRecomputesRunningStatisticsAndLeavesTrainingAlone) {
  const auto train = noisy_pairs(6, 24, 1), val = noisy_pairs(2, 24, 50);
  auto options = tiny_options(dir_ / "momentum");
  options.epochs = 2;
  options.steps_per_epoch = 3;
  const auto momentum = train_dae(options, train, val, context_);
  options.checkpoint_dir = dir_ / "precise";
  options.precise_bn_batches = 5;
  const auto precise = train_dae(options, train, val, context_);
  EXPECT_EQ(precise.history[1].train_loss, momentum.history[1].train_loss);

  const auto a = train::read_checkpoint(momentum.last_checkpoint, "dae", "dae").module("model");
  const auto b = train::read_checkpoint(precise.last_checkpoint, "dae", "dae").module("model");
  int norms = 0;
  for (const auto& [key, value] : a) {
    const bool running = key.find("running_") != std::string::npos || key.find("num_batches_tracked") != std::string::npos;
    if (!running) {
      EXPECT_TRUE(value.equal(b.at(key))) << key << " trained differently";
    } else if (key.find("num_batches_tracked") != std::string::npos) {
      ++norms;
      EXPECT_EQ(value.item<int64_t>(), 2 * 3);       // every training step of the momentum run
      EXPECT_EQ(b.at(key).item<int64_t>(), 5);       // only the recomputation's batches
    } else {
      EXPECT_FALSE(value.equal(b.at(key))) << key;   // different statistics
    }
  }
  EXPECT_GT(norms, 0);
  // Its cache key differs; the default (0) leaves it out so that earlier keys stay valid.
  EXPECT_NE(options.canonical().find("precise_bn_batches"), std::string::npos);
  options.precise_bn_batches = 0;
  EXPECT_EQ(options.canonical().find("precise_bn_batches"), std::string::npos);
  options.precise_bn_batches = -1;
  EXPECT_THROW(options.validate(), ConfigError);
}

// ema_decay: training itself is untouched (same losses; the "raw" weights equal a run
// without averaging), the saved model is the average — after one step exactly
// 0.1·init + 0.9·trained (decay min(0.9, 1/10)) — and an interrupted run resumes both exactly.
TEST_F(DaeTest, WeightAveragingValidatesAndSavesTheAverageAndResumesExactly) {
  const auto train = noisy_pairs(6, 24, 1), val = noisy_pairs(2, 24, 50);
  auto options = tiny_options(dir_ / "plain");
  options.epochs = 1;
  options.steps_per_epoch = 1;
  const auto plain = train_dae(options, train, val, context_);
  options.checkpoint_dir = dir_ / "averaged";
  options.ema_decay = 0.9;
  const auto averaged = train_dae(options, train, val, context_);
  EXPECT_EQ(averaged.history[0].train_loss, plain.history[0].train_loss);
  EXPECT_NE(averaged.history[0].val_psnr, plain.history[0].val_psnr);  // another network is validated

  const auto stored = train::read_checkpoint(averaged.last_checkpoint, "dae", "dae");
  const auto model = stored.module("model"), raw = stored.module("raw");
  const auto trained = train::read_checkpoint(plain.last_checkpoint, "dae", "dae").module("model");
  Restormer init(tiny_network());
  initialize_parameters(*init, options.seed);
  int checked = 0;
  for (const auto& item : init->named_parameters()) {
    const auto& key = item.key();
    ASSERT_TRUE(raw.at(key).equal(trained.at(key))) << key << ": averaging changed the training";
    const auto expected = 0.1 * item.value() + 0.9 * trained.at(key);
    ASSERT_TRUE(at::allclose(model.at(key), expected, 1e-6, 1e-7)) << key;
    if (!item.value().equal(trained.at(key))) ++checked;
  }
  EXPECT_GT(checked, 10);

  // Interrupted after epoch 1 of 2 (3 steps each), then resumed: the same averaged network.
  options.epochs = 2;
  options.steps_per_epoch = 3;
  options.checkpoint_dir = dir_ / "straight";
  const auto straight = train_dae(options, train, val, context_);
  options.checkpoint_dir = dir_ / "interrupted";
  const auto resumed = interrupted_then_resumed(options, train, val, context_);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.history[1].val_psnr, straight.history[1].val_psnr);
  const auto a = train::read_checkpoint(straight.last_checkpoint, "dae", "dae").module("model");
  const auto b = train::read_checkpoint(resumed.last_checkpoint, "dae", "dae").module("model");
  for (const auto& [key, value] : a) EXPECT_TRUE(value.equal(b.at(key))) << key;

  // In the cache key only when on; 1 is refused.
  EXPECT_NE(options.canonical().find("ema_decay"), std::string::npos);
  options.ema_decay = 0;
  EXPECT_EQ(options.canonical().find("ema_decay"), std::string::npos);
  options.ema_decay = 1.0;
  EXPECT_THROW(options.validate(), ConfigError);
}

TEST_F(DaeTest, CheckpointOfAnotherArchitectureIsAClearError) {
  const auto train = noisy_pairs(4, 16, 1), val = noisy_pairs(1, 16, 9);
  auto options = tiny_options(dir_ / "ck");
  options.epochs = 1;
  options.steps_per_epoch = 1;
  const auto result = train_dae(options, train, val, context_);
  RestormerOptions other = tiny_network();
  other.dim = 16;
  try {
    DaeModel::load_into(other.to_yaml(), result.last_checkpoint);
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("shape mismatches"), std::string::npos) << message;
    EXPECT_NE(message.find("vs model ["), std::string::npos) << message;
  }
  RestormerOptions plain = tiny_network();
  plain.fesa = false;  // a checkpoint with FESA keys loaded into plain Restormer blocks
  try {
    DaeModel::load_into(plain.to_yaml(), result.last_checkpoint);
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected"), std::string::npos) << e.what();
  }
  // Not a checkpoint at all.
  std::ofstream(dir_ / "junk.pt") << "not a checkpoint";
  EXPECT_THROW(DaeModel::load(dir_ / "junk.pt"), RunError);
  EXPECT_THROW(DaeModel::load(dir_ / "missing.pt"), RunError);
}

TEST_F(DaeTest, ChannelMismatchIsAClearError) {
  const auto train = noisy_pairs(4, 16, 1), val = noisy_pairs(1, 16, 9);
  auto options = tiny_options(dir_ / "ch");
  options.epochs = 1;
  options.steps_per_epoch = 1;
  const auto result = train_dae(options, train, val, context_);
  const DaeModel model = DaeModel::load(result.last_checkpoint);
  try {
    model.restore({smooth_image(3, 16, 1)});
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("channel"), std::string::npos) << e.what();
  }
  DaePairs rgb;
  rgb.targets = {smooth_image(3, 16, 1)};
  rgb.inputs = rgb.targets;
  EXPECT_THROW(train_dae(options, rgb, val, context_), RunError);
}

TEST_F(DaeTest, BadTrainingInputsAreRejected) {
  const auto train = noisy_pairs(2, 16, 1), val = noisy_pairs(1, 16, 9);
  auto options = tiny_options("");
  options.patch_size = 32;  // larger than the images
  EXPECT_THROW(train_dae(options, train, val, context_), ConfigError);
  options.patch_size = 12;  // not a multiple of 8
  EXPECT_THROW(train_dae(options, train, val, context_), ConfigError);
  options = tiny_options("");
  options.spectral_loss = "phase";
  EXPECT_THROW(train_dae(options, train, val, context_), ConfigError);
  options = tiny_options("");
  DaePairs unpaired;
  unpaired.targets = train.targets;  // no inputs and no perturb function
  EXPECT_THROW(train_dae(options, unpaired, val, context_), RunError);
  EXPECT_THROW(train_dae(options, DaePairs{}, val, context_), RunError);
}

TEST_F(DaeTest, SchemaDefaultsGiveValidOptions) {
  const YAML::Node node = YAML::Load("{network: {dim: 8, num_blocks: [1,1,1,1], in_channels: 1, out_channels: 1}, epochs: 3}");
  const YAML::Node validated = dae_schema().validate(node, "dae", config::Provenance());
  const DaeTrainOptions options = dae_options_from(config::Params(validated, "dae"));
  EXPECT_EQ(options.epochs, 3);
  EXPECT_EQ(options.patch_size, 64);
  EXPECT_EQ(options.spectral_loss, "amplitude");
  EXPECT_DOUBLE_EQ(options.spectral_weight, 1.0);
  const auto network = RestormerOptions::from_yaml(options.network_yaml);
  EXPECT_EQ(network.dim, 8);
  EXPECT_TRUE(network.fesa);
  EXPECT_EQ(network.num_refinement_blocks, 2);
  EXPECT_TRUE(options.checkpoint_dir.empty());
  // zero_init_output is off by default and then absent from the cache key (keys of earlier runs stay valid).
  EXPECT_FALSE(options.zero_init_output);
  EXPECT_EQ(options.canonical().find("zero_init_output"), std::string::npos);
  DaeTrainOptions zero = options;
  zero.zero_init_output = true;
  EXPECT_NE(zero.canonical(), options.canonical());
}

// A weight file in the earlier HDF5 format (one dataset per key at the root), as
// tools/export_restormer_weights.py wrote it before it switched to safetensors.
void write_weights_h5(const torch::nn::Module& module, const fs::path& path) {
  h5::File file(path, "w");
  for (const auto& [key, value] : named_state(module)) {
    const at::Tensor data = value.detach().contiguous();
    const std::vector<hsize_t> dims(data.sizes().begin(), data.sizes().end());
    if (at::isFloatingType(data.scalar_type())) {
      const at::Tensor f = data.to(at::kFloat);
      h5::write_array(file, key, std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel()), dims);
    } else {
      const at::Tensor i = data.to(at::kLong);
      h5::write_array(file, key, std::vector<std::int64_t>(i.data_ptr<int64_t>(), i.data_ptr<int64_t>() + i.numel()), dims);
    }
  }
}

TEST_F(DaeTest, HdfWeightsRoundTripAndInitialiseTheDaeFromRestormer) {
  Restormer plain([] {
    auto o = tiny_network();
    o.fesa = false;
    return o;
  }());
  initialize_parameters(*plain, 5);
  write_weights_h5(*plain, dir_ / "restormer.h5");
  const auto weights = read_weights_h5(dir_ / "restormer.h5");
  Restormer copy(plain->options());
  const auto strict = load_state(*copy, weights, true, "restormer.h5");
  EXPECT_EQ(strict.loaded.size(), named_state(*plain).size());
  torch::NoGradGuard no_grad;
  auto x = at::rand({1, 1, 16, 16});
  EXPECT_TRUE(plain->forward(x).equal(copy->forward(x)));
  // Non-strict: every Restormer tensor initialises the FET network; only FESA tensors stay.
  Restormer fet(tiny_network());
  const auto partial = load_state(*fet, weights, false, "restormer.h5");
  EXPECT_EQ(partial.loaded.size(), weights.size());
  EXPECT_TRUE(partial.unexpected.empty());
  for (const auto& key : partial.missing)
    EXPECT_TRUE(key.find(".freq.") != std::string::npos || key.find(".fuse.") != std::string::npos) << key;
  EXPECT_THROW(load_state(*fet, weights, true, "restormer.h5"), RunError);
  EXPECT_THROW(read_weights_h5(dir_ / "none.h5"), RunError);

  // The trainer takes the same file as init_weights (matching keys only) and refuses a missing one.
  const auto train = noisy_pairs(4, 16, 1), val = noisy_pairs(1, 16, 9);
  auto options = tiny_options("");
  options.epochs = 1;
  options.steps_per_epoch = 1;
  options.init_weights = (dir_ / "restormer.h5").string();
  EXPECT_EQ(train_dae(options, train, val, context_).history.size(), 1u);
  options.init_weights = (dir_ / "none.h5").string();
  EXPECT_THROW(train_dae(options, train, val, context_), RunError);

  // The format we export now: safetensors holds the same tensors, and init_weights takes it.
  io::write_safetensors(dir_ / "restormer.safetensors", io::state_dict(*plain));
  const auto from_safetensors = read_weights(dir_ / "restormer.safetensors");
  const auto from_h5 = read_weights(dir_ / "restormer.h5");  // told apart by the signature
  ASSERT_EQ(from_safetensors.size(), from_h5.size());
  const io::NamedTensors by_name(from_h5.begin(), from_h5.end());
  for (const auto& [key, tensor] : from_safetensors) EXPECT_TRUE(tensor.equal(by_name.at(key))) << key;
  options.init_weights = (dir_ / "restormer.safetensors").string();
  EXPECT_EQ(train_dae(options, train, val, context_).history.size(), 1u);
}

// Eq. 7.
TEST(RhmLoss, SpectralLossDiffersFromPixelLossButComplexEqualsIt) {
  auto a = at::rand({2, 3, 16, 16}), b = at::rand({2, 3, 16, 16});
  const auto amplitude = reconstruction_loss(a, b, 1.0, SpectralLoss::kAmplitude);
  const auto complex = reconstruction_loss(a, b, 1.0, SpectralLoss::kComplex);
  EXPECT_NEAR(complex.spectral.item<double>(), complex.pixel.item<double>(), 1e-6);  // Parseval
  EXPECT_GT(std::abs(amplitude.spectral.item<double>() - amplitude.pixel.item<double>()), 1e-3);
  EXPECT_NEAR(amplitude.total.item<double>(), amplitude.pixel.item<double>() + amplitude.spectral.item<double>(), 1e-6);
  // A circular shift changes pixels but not amplitudes.
  const auto shifted = reconstruction_loss(at::roll(a, {3}, {3}), a, 1.0, SpectralLoss::kAmplitude);
  EXPECT_GT(shifted.pixel.item<double>(), 1e-3);
  EXPECT_NEAR(shifted.spectral.item<double>(), 0.0, 1e-9);
  EXPECT_THROW(parse_spectral_loss("phase"), ConfigError);
  EXPECT_THROW(reconstruction_loss(a, b.narrow(3, 0, 8), 1.0, SpectralLoss::kAmplitude), RunError);
}

}  // namespace
}  // namespace frerec::rhm
