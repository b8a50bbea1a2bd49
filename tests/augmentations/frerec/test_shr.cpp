#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>

#include "augmentations/frerec/shr.h"
#include "framework/core/error.h"
#include "tests/spectral/test_util.h"

namespace frerec::shr {
namespace {

using spectral::testing::smooth_image;

// Mid-range images with mild texture: SHR neither clamps amplitudes nor clips pixels.
Image mid_image(int c, int h, int w, std::uint64_t seed, float noise = 0.01f) {
  Image img = smooth_image(c, h, w, seed, noise);
  for (float& v : img.data) v = 0.35f + 0.3f * v;
  return img;
}
std::vector<Image> mid_set(int n, int c, int h, int w, std::uint64_t seed, float noise = 0.01f) {
  std::vector<Image> out;
  for (int i = 0; i < n; ++i) out.push_back(mid_image(c, h, w, seed * 100 + i, noise));
  return out;
}
std::vector<const ImageStats*> pointers(const std::vector<ImageStats>& stats) {
  std::vector<const ImageStats*> out;
  for (const auto& s : stats) out.push_back(&s);
  return out;
}
double max_abs_diff(const Image& a, const Image& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::abs(a.data[i] - b.data[i])));
  return m;
}

TEST(Shr, RatioOneIsIdentity) {
  const auto real = mid_set(6, 3, 24, 30, 1);
  auto synthetic = mid_set(3, 3, 24, 30, 2, 0.1f);
  ShrOptions opt;
  opt.ratio = 1.0;
  opt.k = 4;
  const auto out = shr_with_retrieval(synthetic, real, opt, 2);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_LT(max_abs_diff(out[i], synthetic[i]), 1e-6);
}

TEST(Shr, PreClampHighFrequencyStatisticsEqualTheSampledTargets) {
  const auto real = mid_set(12, 1, 32, 28, 3, 0.05f);
  const Image synthetic = mid_image(1, 32, 28, 4, 0.005f);
  for (Spread spread : {Spread::kMad, Spread::kStd}) {
    for (Domain domain : {Domain::kAmplitude, Domain::kComplex}) {
      ShrOptions opt;
      opt.spread = spread;
      opt.domain = domain;
      opt.stats = StatsRegion::kHigh;  // HF-only statistics: the output's HF values carry the targets exactly
      opt.seed = 17;
      const auto stats = high_frequency_stats(real, opt, 1);
      std::vector<ChannelTarget> targets;
      std::vector<std::vector<std::complex<double>>> hf;
      apply_shr(synthetic, pointers(stats), opt, 5, &targets, &hf);
      ASSERT_EQ(hf.size(), 1u);
      std::complex<double> mean = 0.0;
      for (const auto& v : hf[0]) mean += v;
      mean /= static_cast<double>(hf[0].size());
      double spread_value = 0.0;
      for (const auto& v : hf[0]) spread_value += spread == Spread::kMad ? std::abs(v - mean) : std::norm(v - mean);
      spread_value /= static_cast<double>(hf[0].size());
      if (spread == Spread::kStd) spread_value = std::sqrt(spread_value);
      EXPECT_NEAR(std::abs(mean - targets[0].mean_hat), 0.0, 1e-9 * (1 + std::abs(targets[0].mean_hat)));
      EXPECT_NEAR(spread_value, targets[0].spread_hat, 1e-9 * (1 + targets[0].spread_hat));
      // Eq. 2 by hand: μ̄ and the population std over the neighbours.
      double mbar = 0.0, var = 0.0;
      for (const auto& s : stats) mbar += s[0].mean.real();
      mbar /= stats.size();
      for (const auto& s : stats) var += (s[0].mean.real() - mbar) * (s[0].mean.real() - mbar);
      EXPECT_NEAR(targets[0].mean_bar.real(), mbar, 1e-12);
      EXPECT_NEAR(targets[0].sigma_mean, std::sqrt(var / stats.size()), 1e-12);
      EXPECT_NEAR(targets[0].mean_hat.real(), mbar + targets[0].epsilon_mean * targets[0].sigma_mean, 1e-12);
    }
  }
}

TEST(Shr, OutputSpectrumCarriesTargetsAndKeepsLowFrequenciesAndPhase) {
  const auto real = mid_set(10, 1, 30, 36, 5, 0.04f);
  const Image synthetic = mid_image(1, 30, 36, 6, 0.01f);
  ShrOptions opt;
  opt.stats = StatsRegion::kHigh;  // HF-only statistics: the output's HF values carry the targets exactly
  opt.seed = 3;
  const auto stats = high_frequency_stats(real, opt, 2);
  std::vector<ChannelTarget> targets;
  std::vector<std::vector<std::complex<double>>> hf;
  const Image out = apply_shr(synthetic, pointers(stats), opt, 0, &targets, &hf);
  for (const auto& v : hf[0]) ASSERT_GT(v.real(), 0.0) << "clamping would bite: change the test images";
  for (float p : out.data) ASSERT_TRUE(p > 0.0f && p < 1.0f) << "clipping would bite";
  const auto before = spectral::centred_spectrum<double>(synthetic);
  const auto after = spectral::centred_spectrum<double>(out);
  const auto low = spectral::low_frequency_mask(30, 36, 0.5, spectral::MaskShape::kSquare);
  double sum = 0.0, count = 0.0;
  for (std::size_t i = 0; i < low.size(); ++i) {
    if (low[i]) {
      EXPECT_NEAR(std::abs(after.data[i] - before.data[i]), 0.0, 1e-5);
    } else {
      sum += std::abs(after.data[i]);
      count += 1;
      if (std::abs(before.data[i]) > 1e-3) {
        EXPECT_NEAR(std::remainder(std::arg(after.data[i]) - std::arg(before.data[i]), 2 * M_PI), 0.0, 1e-3);
      }
    }
  }
  const double mean = sum / count;
  double mad = 0.0;
  for (std::size_t i = 0; i < low.size(); ++i)
    if (!low[i]) mad += std::abs(std::abs(after.data[i]) - mean);
  mad /= count;
  EXPECT_NEAR(mean, targets[0].mean_hat.real(), 1e-4 * targets[0].mean_hat.real());
  EXPECT_NEAR(mad, targets[0].spread_hat, 1e-3 * targets[0].spread_hat);
}

// stats: masked is Eq. 1 verbatim: sums over the whole H×W grid of the masked spectrum F^h
// (low-frequency bins 0), divided by H·W — checked by brute force on that grid.
TEST(Shr, MaskedStatisticsAreEquationOneOverTheWholeMaskedGrid) {
  const auto real = mid_set(3, 2, 24, 20, 9, 0.05f);
  for (Domain domain : {Domain::kAmplitude, Domain::kComplex}) {
    for (Spread spread : {Spread::kMad, Spread::kStd}) {
      ShrOptions opt;
      ASSERT_EQ(opt.stats, StatsRegion::kMasked);  // the default
      opt.domain = domain;
      opt.spread = spread;
      const auto stats = high_frequency_stats(real, opt, 1);
      const auto low = spectral::low_frequency_mask(24, 20, opt.ratio, opt.mask);
      for (std::size_t i = 0; i < real.size(); ++i) {
        const auto spectrum = spectral::centred_spectrum<double>(real[i]);
        for (int c = 0; c < 2; ++c) {
          std::vector<std::complex<double>> grid(low.size());
          for (std::size_t j = 0; j < low.size(); ++j) {
            const std::complex<double> v = spectrum.plane(c)[j];
            grid[j] = low[j] ? 0.0 : (domain == Domain::kAmplitude ? std::complex<double>(std::abs(v), 0.0) : v);
          }
          std::complex<double> mu = 0.0;
          for (const auto& v : grid) mu += v;
          mu /= static_cast<double>(grid.size());
          double sigma = 0.0;
          for (const auto& v : grid) sigma += spread == Spread::kMad ? std::abs(v - mu) : std::norm(v - mu);
          sigma /= static_cast<double>(grid.size());
          if (spread == Spread::kStd) sigma = std::sqrt(sigma);
          EXPECT_NEAR(std::abs(stats[i][c].mean - mu), 0.0, 1e-12 * (1 + std::abs(mu)));
          EXPECT_NEAR(stats[i][c].spread, sigma, 1e-12 * (1 + sigma));
        }
      }
      // And it differs from the HF-only reading (the zeros count).
      opt.stats = StatsRegion::kHigh;
      EXPECT_GT(std::abs(high_frequency_stats(real, opt, 1)[0][0].mean - stats[0][0].mean), 1e-9);
    }
  }
}

TEST(Shr, LiteralEquationThreeUsesTheNeighbourMeans) {
  const auto real = mid_set(8, 1, 24, 24, 7, 0.05f);
  const Image synthetic = mid_image(1, 24, 24, 8, 0.02f);
  ShrOptions opt;
  opt.normalize = Normalize::kReal;
  const auto stats = high_frequency_stats(real, opt, 1);
  std::vector<ChannelTarget> t;
  std::vector<std::vector<std::complex<double>>> hf;
  apply_shr(synthetic, pointers(stats), opt, 2, &t, &hf);
  const auto spec = spectral::centred_spectrum<double>(synthetic);
  const auto low = spectral::low_frequency_mask(24, 24, 0.5, spectral::MaskShape::kSquare);
  std::size_t v = 0;
  for (std::size_t i = 0; i < low.size() && v < 20; ++i) {
    if (low[i]) continue;
    const double expected = t[0].spread_hat * (std::abs(spec.data[i]) - t[0].mean_bar.real()) / t[0].spread_bar +
                            t[0].mean_hat.real();
    EXPECT_NEAR(hf[0][v].real(), expected, 1e-9);
    ++v;
  }
}

TEST(Shr, DeterministicPerSeedAndIndependentOfThreads) {
  const auto real = mid_set(9, 3, 20, 26, 9, 0.05f);
  const auto synthetic = mid_set(5, 3, 20, 26, 10, 0.02f);
  ShrOptions opt;
  opt.k = 5;
  opt.seed = 42;
  const auto a = shr_with_retrieval(synthetic, real, opt, 1);
  const auto b = shr_with_retrieval(synthetic, real, opt, 2);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].data, b[i].data);
  opt.seed = 43;
  const auto c = shr_with_retrieval(synthetic, real, opt, 2);
  EXPECT_GT(max_abs_diff(a[0], c[0]), 1e-6);
  // Channels draw different ε.
  const auto stats = high_frequency_stats(real, opt, 1);
  const auto t = sample_targets(pointers(stats), 42, 0);
  EXPECT_NE(t[0].epsilon_mean, t[1].epsilon_mean);
}

TEST(Shr, EpsilonIsStandardNormalAcrossImages) {
  ImageStats s1{{{1.0, 0.0}, 2.0}}, s2{{{3.0, 0.0}, 1.0}};
  const std::vector<const ImageStats*> n = {&s1, &s2};
  double m = 0.0, v = 0.0;
  const int draws = 4000;
  for (int i = 0; i < draws; ++i) {
    const auto t = sample_targets(n, 7, i);
    m += t[0].epsilon_mean + t[0].epsilon_spread;
    v += t[0].epsilon_mean * t[0].epsilon_mean + t[0].epsilon_spread * t[0].epsilon_spread;
  }
  m /= 2 * draws;
  v = v / (2 * draws) - m * m;
  EXPECT_NEAR(m, 0.0, 0.05);
  EXPECT_NEAR(v, 1.0, 0.06);
}

TEST(Shr, CircleMaskAndNonSquareColour) {
  const auto real = mid_set(6, 3, 28, 20, 11, 0.05f);
  const auto synthetic = mid_set(2, 3, 28, 20, 12, 0.02f);
  ShrOptions opt;
  opt.mask = spectral::MaskShape::kCircle;
  opt.k = 3;
  const auto out = shr_with_retrieval(synthetic, real, opt, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].same_shape(synthetic[0]));
  EXPECT_GT(max_abs_diff(out[0], synthetic[0]), 1e-4);
  for (float p : out[1].data) EXPECT_TRUE(p >= 0.0f && p <= 1.0f);
}

TEST(Shr, BadInput) {
  const auto real = mid_set(4, 1, 32, 32, 13);
  ShrOptions opt;
  opt.k = 2;
  try {
    shr_with_retrieval(mid_set(2, 1, 32, 30, 14), real, opt, 1);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("1x32x30"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1x32x32"), std::string::npos) << e.what();
  }
  try {
    shr_with_retrieval(mid_set(2, 3, 32, 32, 14), real, opt, 1);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("3x32x32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(shr_with_retrieval(mid_set(2, 1, 32, 32, 14), {}, opt, 1), RunError);
  auto nan = mid_set(3, 1, 32, 32, 15);
  nan[1].at(0, 2, 2) = std::numeric_limits<float>::quiet_NaN();
  try {
    shr_with_retrieval(nan, real, opt, 1);
    FAIL();
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("image 1"), std::string::npos) << e.what();
  }
  opt.k = 50;  // larger than the pool: warning, K = 4
  EXPECT_EQ(shr_with_retrieval(mid_set(1, 1, 32, 32, 16), real, opt, 1).size(), 1u);
  opt.ratio = 1.4;
  try {
    opt.validate();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("r=1.4"), std::string::npos) << e.what();
  }
  spectral::RetrievalResult wrong;
  wrong.queries = 1;
  wrong.k = 1;
  wrong.indices = {7};
  wrong.scores = {0.5};
  EXPECT_THROW(shr_batch(mid_set(1, 1, 32, 32, 17), real, wrong, ShrOptions{}, 1), ConfigError);
}

TEST(Shr, OptionsFromParams) {
  const config::Params params(YAML::Load("{ratio: 0.25, k: 12, mask: circle, spread: std, normalize: real, "
                                         "domain: complex, ssim: uniform, pool: same_class, seed: 9}"),
                              "method.shr");
  const ShrOptions o = ShrOptions::from_params(params);
  EXPECT_DOUBLE_EQ(o.ratio, 0.25);
  EXPECT_EQ(o.k, 12);
  EXPECT_EQ(o.mask, spectral::MaskShape::kCircle);
  EXPECT_EQ(o.spread, Spread::kStd);
  EXPECT_EQ(o.normalize, Normalize::kReal);
  EXPECT_EQ(o.domain, Domain::kComplex);
  EXPECT_EQ(o.ssim, spectral::SsimWindow::kUniform);
  EXPECT_EQ(o.pool, spectral::RetrievalPool::kSameClass);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_NE(o.canonical(), ShrOptions{}.canonical());
  const ShrOptions d = ShrOptions::from_params(config::Params(YAML::Load("{}"), "shr"));
  EXPECT_DOUBLE_EQ(d.ratio, 0.5);
  EXPECT_EQ(d.k, 200);
  EXPECT_THROW(ShrOptions::from_params(config::Params(YAML::Load("{mask: hexagon}"), "shr")), ConfigError);
  EXPECT_THROW(ShrOptions::from_params(config::Params(YAML::Load("{ratio: 0}"), "shr")), ConfigError);
  const auto schema = ShrOptions::schema();
  for (const char* key :
       {"ratio", "k", "mask", "spread", "normalize", "domain", "ssim", "pool", "seed", "epsilon_scale", "negative"})
    EXPECT_NE(schema.find(key), nullptr) << key;
}

TEST(Shr, EpsilonScaleMultipliesTheDrawAndZeroIsDeterministic) {
  ImageStats s1{{{1.0, 0.0}, 2.0}}, s2{{{3.0, 0.0}, 1.0}};
  const std::vector<const ImageStats*> n = {&s1, &s2};
  const auto full = sample_targets(n, 7, 3);
  const auto half = sample_targets(n, 7, 3, 0.5);
  EXPECT_DOUBLE_EQ(half[0].epsilon_mean, 0.5 * full[0].epsilon_mean);
  EXPECT_DOUBLE_EQ(half[0].epsilon_spread, 0.5 * full[0].epsilon_spread);
  const auto zero = sample_targets(n, 7, 3, 0.0);
  EXPECT_EQ(zero[0].mean_hat, (std::complex<double>(2.0, 0.0)));  // μ̄ of the two neighbours
  EXPECT_DOUBLE_EQ(zero[0].spread_hat, 1.5);                      // σ̄

  // Through the options: ε = 0 gives the same output for every seed; the default is 1 and
  // stays out of the cache key (keys of earlier runs stay valid).
  const auto real = mid_set(9, 1, 20, 20, 9, 0.05f);
  const auto synthetic = mid_set(2, 1, 20, 20, 10, 0.02f);
  ShrOptions opt;
  opt.k = 5;
  opt.epsilon_scale = 0.0;
  opt.seed = 1;
  const auto a = shr_with_retrieval(synthetic, real, opt, 1);
  opt.seed = 2;
  const auto b = shr_with_retrieval(synthetic, real, opt, 1);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].data, b[i].data);
  EXPECT_NE(opt.canonical(), ShrOptions{}.canonical());
  EXPECT_EQ(ShrOptions{}.canonical().find("epsilon"), std::string::npos);
  EXPECT_DOUBLE_EQ(ShrOptions::from_params(config::Params(YAML::Load("{epsilon_scale: 0.25}"), "shr")).epsilon_scale,
                   0.25);
  EXPECT_THROW(ShrOptions::from_params(config::Params(YAML::Load("{epsilon_scale: -1}"), "shr")), ConfigError);
}

// negative: a negative Eq. 3 amplitude. zero clamps it (an exact hole in the spectrum); flip
// keeps the mapped value as it is, times the bin's unit phasor (|value| with the phase + π).
// Both see the same draws; they differ only in the bins whose mapped value is negative.
TEST(Shr, NegativeAmplitudesAreClampedOrFlipped) {
  // Smooth real images (few strong HF bins: mean small against spread) and a noisy synthetic
  // one (mean large against spread): Eq. 3 sends its weakest bins below 0.
  const auto real = mid_set(12, 1, 32, 28, 3, 0.001f);
  const Image synthetic = mid_image(1, 32, 28, 4, 0.05f);
  ShrOptions opt;
  opt.stats = StatsRegion::kHigh;
  opt.epsilon_scale = 3.0;  // wide draws: σ̂ large against μ̂ pushes the smallest amplitudes below 0
  const auto stats = high_frequency_stats(real, opt, 1);
  const auto low = spectral::low_frequency_mask(32, 28, opt.ratio, opt.mask);
  const auto before = spectral::centred_spectrum<double>(synthetic);
  int checked = 0;
  for (std::uint64_t index = 0; index < 40 && checked < 2; ++index) {
    std::vector<std::vector<std::complex<double>>> hf_zero, hf_flip;
    opt.negative = Negative::kZero;
    const Image zero = apply_shr(synthetic, pointers(stats), opt, index, nullptr, &hf_zero);
    opt.negative = Negative::kFlip;
    const Image flip = apply_shr(synthetic, pointers(stats), opt, index, nullptr, &hf_flip);
    ASSERT_EQ(hf_zero, hf_flip);  // the same Eq. 3 values
    int negatives = 0;
    for (const auto& v : hf_flip[0]) negatives += v.real() < 0.0;
    bool clipped = false;
    for (const Image* img : {&zero, &flip})
      for (float p : img->data) clipped = clipped || p <= 0.0f || p >= 1.0f;
    if (negatives == 0 || clipped) continue;  // this draw does not test the rule
    ++checked;
    const auto a_zero = spectral::centred_spectrum<double>(zero);
    const auto a_flip = spectral::centred_spectrum<double>(flip);
    std::size_t v = 0;
    for (std::size_t i = 0; i < low.size(); ++i) {
      if (low[i]) continue;
      const double mapped = hf_flip[0][v++].real();
      EXPECT_NEAR(std::abs(a_flip.data[i]), std::abs(mapped), 1e-4);
      EXPECT_NEAR(std::abs(a_zero.data[i]), std::max(0.0, mapped), 1e-4);
      if (mapped < -1e-3) {
        EXPECT_NEAR(std::remainder(std::arg(a_flip.data[i]) - std::arg(before.data[i]) - M_PI, 2 * M_PI), 0.0, 1e-3);
        EXPECT_LT(std::abs(a_zero.data[i]), 1e-4);  // the hole the clamp makes
      }
    }
  }
  EXPECT_EQ(checked, 2) << "no draw made a negative amplitude without clipping pixels: change the test images";
  EXPECT_EQ(ShrOptions{}.negative, Negative::kFlip);
  EXPECT_EQ(ShrOptions::from_params(config::Params(YAML::Load("{negative: zero}"), "shr")).negative, Negative::kZero);
  EXPECT_THROW(ShrOptions::from_params(config::Params(YAML::Load("{negative: keep}"), "shr")), ConfigError);
  ShrOptions zero_opt;
  zero_opt.negative = Negative::kZero;
  EXPECT_NE(zero_opt.canonical(), ShrOptions{}.canonical());
  // The rule is about amplitudes: in the complex domain it changes nothing, nor the key.
  ShrOptions complex_flip, complex_zero;
  complex_flip.domain = complex_zero.domain = Domain::kComplex;
  complex_zero.negative = Negative::kZero;
  EXPECT_EQ(complex_flip.canonical(), complex_zero.canonical());
}

}  // namespace
}  // namespace frerec::shr
