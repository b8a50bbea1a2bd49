// Mix-up (hand-computed batch, loss identity, Beta moments, errors) and AFA (noise norm,
// frequency and direction, the batch view, auxiliary BatchNorm routing, the two-branch loss).
#include <gtest/gtest.h>

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/modules/container/functional.h>

#include <cmath>
#include <complex>

#include "augmentations/core/afa.h"
#include "augmentations/core/mixup.h"
#include "framework/core/error.h"

namespace frerec::augmentations {
namespace {

constexpr double kPi = 3.14159265358979323846;

train::Batch one_hot_batch(torch::Tensor images, std::vector<long> labels, long classes = 2) {
  train::Batch batch;
  batch.images = std::move(images);
  batch.labels = torch::tensor(std::vector<int64_t>(labels.begin(), labels.end()), torch::kLong);
  batch.targets = torch::one_hot(batch.labels, classes).to(torch::kFloat);
  return batch;
}

// ---------------------------------------------------------------- Mix-up

TEST(Mixup, HandComputedBatch) {
  // 3 images of 1×1×2: [0, 1], [10, 20], [100, 200]; labels 0, 1, 1.
  train::Batch batch = one_hot_batch(torch::tensor({0.f, 1.f, 10.f, 20.f, 100.f, 200.f}).view({3, 1, 1, 2}), {0, 1, 1});
  MixupDraw draw;
  draw.lambda = 0.25;
  draw.permutation = {2, 0, 1};
  apply_mixup(batch, draw);
  // x_i = 0.25 x_i + 0.75 x_perm(i)
  const std::vector<float> expected_images = {75.f, 150.25f, 2.5f, 5.75f, 32.5f, 65.f};
  const std::vector<float> expected_targets = {0.25f, 0.75f, 0.75f, 0.25f, 0.f, 1.f};
  auto images = batch.images.contiguous();
  auto targets = batch.targets.contiguous();
  for (int i = 0; i < 6; ++i) {
    EXPECT_FLOAT_EQ(images.data_ptr<float>()[i], expected_images[i]) << i;
    EXPECT_FLOAT_EQ(targets.data_ptr<float>()[i], expected_targets[i]) << i;
  }
  EXPECT_EQ(batch.labels[1].item<int64_t>(), 1);  // hard labels unchanged
}

TEST(Mixup, LossIsTheLambdaMixOfTwoCrossEntropiesWithAndWithoutSmoothing) {
  torch::manual_seed(0);
  const auto logits = torch::randn({5, 3});
  const auto labels = torch::tensor(std::vector<int64_t>{0, 2, 1, 1, 0});
  train::Batch batch;
  batch.images = torch::zeros({5, 1, 2, 2});
  batch.labels = labels;
  batch.targets = torch::one_hot(labels, 3).to(torch::kFloat);
  std::mt19937_64 rng(11);
  const MixupDraw draw = draw_mixup(0.4, 5, rng);
  apply_mixup(batch, draw);
  const auto perm = torch::tensor(draw.permutation);
  for (double eps : {0.0, 0.1}) {
    namespace F = torch::nn::functional;
    const auto options = F::CrossEntropyFuncOptions().label_smoothing(eps);
    const double expected = draw.lambda * F::cross_entropy(logits, labels, options).item<double>() +
                            (1 - draw.lambda) * F::cross_entropy(logits, labels.index_select(0, perm), options).item<double>();
    EXPECT_NEAR(train::soft_target_cross_entropy(logits, batch.targets, eps).item<double>(), expected, 1e-5) << eps;
  }
}

TEST(Mixup, BetaMomentsPermutationAndDeterminism) {
  std::mt19937_64 rng(5);
  const int n = 20000;
  double m1 = 0, m2 = 0;
  for (int i = 0; i < n; ++i) {
    const double l = draw_mixup(0.2, 1, rng).lambda;
    ASSERT_GE(l, 0.0);
    ASSERT_LE(l, 1.0);
    m1 += l / n;
    m2 += l * l / n;
  }
  EXPECT_NEAR(m1, 0.5, 0.01);
  EXPECT_NEAR(m2, 1.2 / 2.8, 0.01);  // E[λ²] = (α+1)/(2(2α+1)) for Beta(α, α)
  std::mt19937_64 a(9), b(9), c(10);
  const MixupDraw da = draw_mixup(0.2, 64, a), db = draw_mixup(0.2, 64, b), dc = draw_mixup(0.2, 64, c);
  EXPECT_EQ(da.lambda, db.lambda);
  EXPECT_EQ(da.permutation, db.permutation);
  EXPECT_NE(da.permutation, dc.permutation);
  std::vector<int64_t> sorted = da.permutation;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(Mixup, NonPositiveAlphaIsAConfigError) {
  EXPECT_THROW(MixupTransform(0.0), ConfigError);
  EXPECT_THROW(MixupTransform(-0.5), ConfigError);
  EXPECT_THROW(MixupTransform(std::nan("")), ConfigError);
  try {
    MixupTransform bad(0.0);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos);
  }
  train::Batch no_targets;
  no_targets.images = torch::zeros({2, 1, 2, 2});
  std::mt19937_64 rng(1);
  EXPECT_THROW(MixupTransform(0.2).apply(no_targets, rng), ConfigError);
}

// ---------------------------------------------------------------- AFA noise

TEST(AfaNoise, UnitNormBeforeScaling) {
  for (int size : {16, 32, 33}) {
    for (int k : {1, 5, size}) {
      for (int j : {0, 100, 223, 447}) {
        const auto wave = fourier_basis_wave(size, size, double(k) / size, -kPi * j / 447.0);
        double norm2 = 0;
        for (float v : wave) norm2 += double(v) * v;
        EXPECT_NEAR(norm2, 1.0, 1e-5) << size << " " << k << " " << j;
      }
    }
  }
}

TEST(AfaNoise, FormulaAndDirection) {
  // ω = 0: the wave depends on the row coordinate only (ij meshgrid: x runs over rows).
  const int s = 16;
  const auto rows = fourier_basis_wave(s, s, 3.0 / s, 0.0);
  for (int i = 0; i < s; ++i)
    for (int j = 1; j < s; ++j) EXPECT_FLOAT_EQ(rows[i * s + j], rows[i * s]);
  // ω = −π/2: columns only, and sin(2πf·(−y) − π/4) shape up to the norm.
  const auto cols = fourier_basis_wave(s, s, 3.0 / s, -kPi / 2);
  const double step = double(s) / (s - 1);
  const double ratio = cols[1] / std::sin(2 * kPi * 3.0 / s * (-(-s / 2.0 + step)) - kPi / 4);
  for (int i = 0; i < s; ++i)
    for (int j = 0; j < s; ++j) {
      const double y = -s / 2.0 + j * step;
      EXPECT_NEAR(cols[i * s + j], ratio * std::sin(2 * kPi * 3.0 / s * (-y) - kPi / 4), 1e-6);
    }
}

// The (frequency, direction) whose complex exponential correlates best with the wave is the
// one it was made from (a matched-filter peak over a grid of candidates).
TEST(AfaNoise, MatchedFilterPeakAtTheDrawnFrequencyAndDirection) {
  const int s = 32, g = 448;
  const double step = double(s) / (s - 1);
  for (auto [k, j] : std::vector<std::pair<int, int>>{{3, 40}, {7, 300}, {12, 150}, {5, 400}}) {
    const auto wave = fourier_basis_wave(s, s, double(k) / s, -kPi * j / (g - 1));
    double best = -1;
    std::pair<int, int> arg{-1, -1};
    for (int kk = 1; kk <= s / 2; ++kk)
      for (int jj = 0; jj < g; jj += 7) {
        const int jc = (jj / 7 == j / 7) ? j : jj;  // the candidate grid contains the true direction
        const double om = -kPi * jc / (g - 1), f = double(kk) / s;
        std::complex<double> acc = 0;
        for (int r = 0; r < s; ++r)
          for (int c = 0; c < s; ++c) {
            const double x = -s / 2.0 + r * step, y = -s / 2.0 + c * step;
            acc += double(wave[r * s + c]) * std::polar(1.0, -2 * kPi * f * (x * std::cos(om) + y * std::sin(om)));
          }
        if (std::abs(acc) > best) {
          best = std::abs(acc);
          arg = {kk, jc};
        }
      }
    EXPECT_EQ(arg.first, k);
    // Direction ω and ω ± π are the same wave up to sign; j ∈ [0, 447] covers [−π, 0].
    EXPECT_EQ(arg.second, j);
  }
}

TEST(AfaNoise, AugmentUsesItsDrawsAndStrengthDistribution) {
  Image image(3, 16, 16, 0.5f);
  AfaOptions options;
  std::mt19937_64 rng(3);
  std::vector<AfaDraw> draws;
  const Image out = afa_augment(image, options, rng, &draws);
  ASSERT_EQ(draws.size(), 3u);
  for (int c = 0; c < 3; ++c) {
    const auto& d = draws[c];
    ASSERT_GE(d.k, 1);
    ASSERT_LE(d.k, 16);
    ASSERT_GE(d.direction, 0);
    ASSERT_LT(d.direction, 448);
    const auto wave = fourier_basis_wave(16, 16, d.k / 16.0, -kPi * d.direction / 447.0);
    for (int p = 0; p < 256; ++p)
      EXPECT_NEAR(out.plane(c)[p], std::clamp(0.5 + d.strength * 16.0 / 32.0 * wave[p], 0.0, 1.0), 1e-6);
  }
  // Strength ~ Exponential(mean) + min; k uniform in {1..S}.
  options.mean_strength = 4.0;
  options.min_strength = 1.5;
  double strength = 0, k = 0, minimum = 1e9;
  const int n = 20000;
  Image tiny(1, 8, 8, 0.5f);
  for (int i = 0; i < n; ++i) {
    afa_augment(tiny, options, rng, &draws);
    strength += draws[0].strength / n;
    k += double(draws[0].k) / n;
    minimum = std::min(minimum, draws[0].strength);
  }
  EXPECT_NEAR(strength, 5.5, 0.15);
  EXPECT_NEAR(k, 4.5, 0.1);
  EXPECT_GE(minimum, 1.5);
}

TEST(AfaNoise, BatchTransformAddsADeterministicViewAndLeavesImages) {
  const auto images = torch::rand({4, 3, 16, 16}, torch::TensorOptions().dtype(torch::kFloat));
  auto run = [&](std::uint64_t seed) {
    train::Batch batch = one_hot_batch(images.clone(), {0, 1, 0, 1});
    std::mt19937_64 rng(seed);
    AfaBatchTransform(AfaOptions{}).apply(batch, rng);
    EXPECT_TRUE(torch::equal(batch.images, images));
    return batch.extra.at("afa");
  };
  const auto a = run(1), b = run(1), c = run(2);
  EXPECT_EQ(a.sizes(), images.sizes());
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_GE(a.min().item<float>(), 0.0f);
  EXPECT_LE(a.max().item<float>(), 1.0f);
  EXPECT_THROW(AfaBatchTransform(AfaOptions{0.0, 0.0, 448}), ConfigError);
  EXPECT_THROW(AfaBatchTransform(AfaOptions{10.0, -1.0, 448}), ConfigError);
}

// ---------------------------------------------------------------- dual BatchNorm

torch::nn::Sequential tiny_cnn() {
  namespace nn = torch::nn;
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)), nn::BatchNorm2d(4), nn::ReLU(),
                        nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)), nn::Flatten(), nn::Linear(4, 2));
}

TEST(AfaDualBatchNorm, KeepsMainNamesAndRoutesStatisticsPerBranch) {
  torch::manual_seed(1);
  auto model = tiny_cnn();
  std::vector<std::string> before;
  for (const auto& item : model->named_parameters()) before.push_back(item.key());
  ASSERT_EQ(attach_auxiliary_batchnorm(*model), 1);
  ASSERT_EQ(attach_auxiliary_batchnorm(*model), 1);  // idempotent
  const auto params = model->named_parameters();
  const auto buffers = model->named_buffers();
  for (const auto& name : before) EXPECT_NE(params.find(name), nullptr) << name;
  ASSERT_NE(params.find("1.aux_weight"), nullptr);
  ASSERT_NE(params.find("1.aux_bias"), nullptr);
  ASSERT_NE(buffers.find("1.aux_running_mean"), nullptr);
  EXPECT_EQ(params.size(), before.size() + 2);

  auto main_mean = buffers["1.running_mean"], aux_mean = buffers["1.aux_running_mean"];
  auto main_count = buffers["1.num_batches_tracked"], aux_count = buffers["1.aux_num_batches_tracked"];
  model->train();
  const auto x = torch::rand({6, 1, 8, 8});
  // Clean branch: only the main statistics move.
  auto main0 = main_mean.clone(), aux0 = aux_mean.clone();
  model->forward(x);
  EXPECT_FALSE(torch::equal(main_mean, main0));
  EXPECT_TRUE(torch::equal(aux_mean, aux0));
  EXPECT_EQ(main_count.item<int64_t>(), 1);
  EXPECT_EQ(aux_count.item<int64_t>(), 0);
  // AFA branch: only the auxiliary statistics move.
  main0 = main_mean.clone();
  {
    AuxiliaryBatchNormScope scope(*model);
    model->forward(x * 0.5 + 0.3);
  }
  EXPECT_TRUE(torch::equal(main_mean, main0));
  EXPECT_FALSE(torch::equal(aux_mean, aux0));
  EXPECT_EQ(aux_count.item<int64_t>(), 1);
  // After the scope the layer reads the registered main tensors again (evaluation path).
  auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(model->ptr(1).get());
  ASSERT_NE(bn, nullptr);
  EXPECT_TRUE(bn->running_mean.is_same(main_mean));
  EXPECT_TRUE(bn->weight.is_same(params["1.weight"]));
}

TEST(AfaStep, LossIsTheMeanOfBothBranchesAndGradientsReachBothBatchNorms) {
  torch::manual_seed(2);
  auto model = tiny_cnn();
  attach_auxiliary_batchnorm(*model);
  model->train();
  auto handle = train::make_model_handle(model);
  train::Batch batch = one_hot_batch(torch::rand({4, 1, 8, 8}), {0, 1, 1, 0});
  std::mt19937_64 rng(4);
  AfaBatchTransform(AfaOptions{}).apply(batch, rng);
  const train::Criterion criterion = [](const torch::Tensor& l, const torch::Tensor& t) {
    return train::soft_target_cross_entropy(l, t, 0.0);
  };
  // Expected value with the batch statistics (train mode) computed by hand, before the hook
  // moves the running statistics (they do not affect train-mode outputs).
  torch::Tensor clean, augmented;
  {
    torch::NoGradGuard no_grad;
    clean = criterion(model->forward(batch.images), batch.targets);
    AuxiliaryBatchNormScope scope(*model);
    augmented = criterion(model->forward(batch.extra["afa"]), batch.targets);
  }
  train::StepContext context;
  const auto loss = AfaStepHook().loss(handle, batch, criterion, context);
  EXPECT_NEAR(loss.item<double>(), 0.5 * (clean.item<double>() + augmented.item<double>()), 1e-6);
  loss.backward();
  const auto params = model->named_parameters();
  ASSERT_TRUE(params["1.weight"].grad().defined());
  ASSERT_TRUE(params["1.aux_weight"].grad().defined());
  EXPECT_GT(params["1.weight"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(params["1.aux_weight"].grad().abs().sum().item<double>(), 0.0);
  // Without the AFA view the hook explains what is missing.
  train::Batch plain = one_hot_batch(torch::rand({2, 1, 8, 8}), {0, 1});
  EXPECT_THROW(AfaStepHook().loss(handle, plain, criterion, context), RunError);
}

TEST(AfaStep, ModelsWithoutBatchNormShareTheirNormalisation) {
  namespace nn = torch::nn;
  torch::manual_seed(3);
  auto model = nn::Sequential(nn::Flatten(), nn::LayerNorm(nn::LayerNormOptions({16})), nn::Linear(16, 2));
  EXPECT_EQ(attach_auxiliary_batchnorm(*model), 0);
  auto handle = train::make_model_handle(model);
  train::Batch batch = one_hot_batch(torch::rand({3, 1, 4, 4}), {1, 0, 1});
  batch.extra["afa"] = torch::rand({3, 1, 4, 4});
  const train::Criterion criterion = [](const torch::Tensor& l, const torch::Tensor& t) {
    return train::soft_target_cross_entropy(l, t, 0.0);
  };
  train::StepContext context;
  const double expected = 0.5 * (criterion(model->forward(batch.images), batch.targets).item<double>() +
                                 criterion(model->forward(batch.extra["afa"]), batch.targets).item<double>());
  EXPECT_NEAR(AfaStepHook().loss(handle, batch, criterion, context).item<double>(), expected, 1e-6);
}

}  // namespace
}  // namespace frerec::augmentations
