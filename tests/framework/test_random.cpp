// framework/core/random.h: (1) on libstdc++, the replicas of std::generate_canonical,
// std::uniform_int_distribution, std::normal_distribution, std::gamma_distribution and
// std::shuffle against the std ones, bit for bit, drawing from one engine the way the call
// sites do; (2) pinned values of every algorithm, recorded from the code before it moved
// into this module (augmentations/core/random.h, datasets/core/rng.h, the trainer's
// derive_seed, the probe's fold shuffle, the t-SNE and SHR Box–Muller), so a change to any
// algorithm fails here on every standard library; (3) distribution sanity.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "framework/core/random.h"

namespace frerec {
namespace {

// ---------------------------------------------------------------------------------------
// (1) libstdc++ replicas

#ifdef __GLIBCXX__

TEST(RandomLibstdcxx, GenerateCanonicalEqualsUniformRealDistribution) {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 expected_rng(seed), actual_rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < 2000; ++i) {
      const double expected = i % 2 ? u(expected_rng) : std::generate_canonical<double, 53>(expected_rng);
      ASSERT_EQ(expected, random::generate_canonical(actual_rng)) << "seed " << seed << " draw " << i;
    }
  }
}

TEST(RandomLibstdcxx, UniformIntEqualsStd) {
  const std::vector<std::pair<int, int>> ranges = {
      {0, 0}, {0, 1}, {0, 8}, {0, 2147483646}, {-5, 5}, {3, 3}, {INT_MIN, INT_MAX},
      {-2147483000, 2147483000}, {0, 1 << 30}};
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    // One engine across all ranges, interleaved, as a stream of transforms shares it.
    std::mt19937_64 expected_rng(seed), actual_rng(seed);
    for (int i = 0; i < 300; ++i)
      for (const auto& [lo, hi] : ranges) {
        std::uniform_int_distribution<int> d(lo, hi);
        ASSERT_EQ(d(expected_rng), random::uniform_int(actual_rng, lo, hi)) << lo << ".." << hi << " seed " << seed;
      }
  }
}

TEST(RandomLibstdcxx, UniformUint64EqualsStdIncludingFrequentRejection) {
  // Ranges just above 2^63 reject about half the draws; the full range takes no multiply.
  const std::vector<std::uint64_t> ranges = {0, 1, 6, (1ULL << 63), (1ULL << 63) + 12345, UINT64_MAX - 1, UINT64_MAX};
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 expected_rng(seed), actual_rng(seed);
    for (int i = 0; i < 300; ++i)
      for (std::uint64_t range : ranges) {
        std::uniform_int_distribution<std::uint64_t> d(0, range);
        ASSERT_EQ(d(expected_rng), random::uniform_uint64(actual_rng, range)) << range << " seed " << seed;
      }
  }
}

// The base augmentation's draws (augmentations/core/method.cpp): two flips from
// uniform_real_distribution(0, 1), then two crop offsets from uniform_int_distribution(0, 2p),
// from the sample's engine, sample after sample.
TEST(RandomLibstdcxx, FlipAndPadCropSequenceEqualsStd) {
  for (int padding : {0, 1, 4, 16}) {
    for (std::uint64_t seed = 0; seed < 100; ++seed) {
      std::mt19937_64 expected_rng(seed), actual_rng(seed);
      for (int sample = 0; sample < 20; ++sample) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        const double h = u(expected_rng), v = u(expected_rng);
        std::uniform_int_distribution<int> offset(0, 2 * padding);
        const int dy = offset(expected_rng), dx = offset(expected_rng);
        ASSERT_EQ(h, random::generate_canonical(actual_rng));
        ASSERT_EQ(v, random::generate_canonical(actual_rng));
        ASSERT_EQ(dy, random::uniform_int(actual_rng, 0, 2 * padding));
        ASSERT_EQ(dx, random::uniform_int(actual_rng, 0, 2 * padding));
      }
    }
  }
}

TEST(RandomLibstdcxx, NormalEqualsStdIncludingTheSavedValue) {
  for (const auto& [mean, stddev] : std::vector<std::pair<double, double>>{{0.0, 1.0}, {2.5, 0.3}, {-1.0, 7.0}}) {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
      std::mt19937_64 expected_rng(seed), actual_rng(seed);
      std::normal_distribution<double> expected(mean, stddev);
      random::NormalDistribution actual(mean, stddev);
      for (int i = 0; i < 1001; ++i) {  // odd: the last draw is a fresh pair
        ASSERT_EQ(expected(expected_rng), actual(actual_rng)) << "seed " << seed << " draw " << i;
        // An unrelated draw between normals, as call sites interleave them.
        if (i % 7 == 0) {
          ASSERT_EQ(expected_rng(), actual_rng());
        }
      }
    }
  }
}

TEST(RandomLibstdcxx, GammaEqualsStd) {
  const std::vector<double> alphas = {0.05, 0.2, 0.5, 1.0, 2.5};
  for (double alpha : alphas)
    for (double beta : {1.0, 3.0})
      for (std::uint64_t seed = 0; seed < 50; ++seed) {
        // One long run per object: the normal's saved value carries over between draws.
        std::mt19937_64 expected_rng(seed), actual_rng(seed);
        std::gamma_distribution<double> expected(alpha, beta);
        random::GammaDistribution actual(alpha, beta);
        for (int i = 0; i < 501; ++i)
          ASSERT_EQ(expected(expected_rng), actual(actual_rng))
              << "alpha " << alpha << " seed " << seed << " draw " << i;
      }
}

// Mix-up's draws (augmentations/core/mixup.cpp): one gamma object per batch, two draws from
// it, the fallback coin when both underflow, then the Fisher–Yates permutation, all from
// the batch engine.
TEST(RandomLibstdcxx, MixupSequenceEqualsStd) {
  for (double alpha : {0.05, 0.2, 0.5, 1.0, 2.5})
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
      std::mt19937_64 expected_rng(seed), actual_rng(seed);
      for (int batch = 0; batch < 5; ++batch) {
        std::gamma_distribution<double> expected_gamma(alpha, 1.0);
        const double ex = expected_gamma(expected_rng), ey = expected_gamma(expected_rng);
        random::GammaDistribution actual_gamma(alpha, 1.0);
        const double ax = actual_gamma(actual_rng), ay = actual_gamma(actual_rng);
        ASSERT_EQ(ex, ax) << "alpha " << alpha << " seed " << seed;
        ASSERT_EQ(ey, ay) << "alpha " << alpha << " seed " << seed;
        if (ex + ey <= 0.0) {
          ASSERT_EQ(random::fair_coin(expected_rng), random::fair_coin(actual_rng));
        }
        for (std::uint64_t i = 7; i > 0; --i)
          ASSERT_EQ(random::uniform_index(expected_rng, i + 1), random::uniform_index(actual_rng, i + 1));
      }
    }
}

TEST(RandomLibstdcxx, ShuffleEqualsStd) {
  for (std::size_t n : {0, 1, 2, 3, 4, 7, 10, 64, 101, 1000}) {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
      std::mt19937_64 expected_rng(seed), actual_rng(seed);
      std::vector<std::size_t> expected(n), actual(n);
      std::iota(expected.begin(), expected.end(), std::size_t{0});
      std::iota(actual.begin(), actual.end(), std::size_t{0});
      for (int round = 0; round < 3; ++round) {  // repeated shuffles of one vector, as dae_trainer does
        std::shuffle(expected.begin(), expected.end(), expected_rng);
        random::shuffle(actual.begin(), actual.end(), actual_rng);
        ASSERT_EQ(expected, actual) << "n " << n << " seed " << seed;
      }
      ASSERT_EQ(expected_rng(), actual_rng());
    }
  }
}

#endif  // __GLIBCXX__

// ---------------------------------------------------------------------------------------
// (2) Pinned values, recorded from the code as it was before the move into this module
// (and, for the libstdc++ replicas, from libstdc++ 12's std distributions).

TEST(RandomPinned, SeedMixing) {
  std::uint64_t state = 0;
  EXPECT_EQ(random::splitmix64(state), 0xe220a8397b1dcdafULL);  // Vigna's splitmix64.c, seed 0
  EXPECT_EQ(random::splitmix64(state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(random::mix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(random::mix_seed(1, 2, 3, 4), 0xd55ccd4aeb3ccafbULL);
  EXPECT_EQ(random::mix_seed(42), 0xc16129ecd0dc5b93ULL);
  EXPECT_EQ(random::tag_seed("frerec"), 0xdf28a2ad2b6fe5b8ULL);
  EXPECT_EQ(random::tag_seed(""), 0x14650fb0739d0383ULL);  // the FNV-1a offset basis
  EXPECT_EQ(random::derive_seed(42, {1, 2}), 0xa2e3ff9ae825aa0bULL);
  EXPECT_EQ(random::derive_seed(0, {}), 0xe220a8397b1dcdafULL);
  // dae_trainer's key mix: splitmix64_finalize(a·γ + b + 0x632BE59BD9B4E019) for (5, 3).
  EXPECT_EQ(random::splitmix64_finalize(5 * random::kSplitMixGamma + 3 + 0x632BE59BD9B4E019ULL), 0xa5de08e17be03f81ULL);
}

TEST(RandomPinned, Xoshiro256) {
  random::Xoshiro256 rng(42);
  EXPECT_EQ(rng.next(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(rng.next(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(rng.next(), 0xae17533239e499a1ULL);
  EXPECT_EQ(rng.uniform(), 0x1.d9715a8e0766cp-1);
  EXPECT_EQ(rng.uniform(2, 5), 0x1.3e6d255fea314p+2);
  EXPECT_EQ(rng.below(10), 7u);
  EXPECT_EQ(rng.below(1000000000), 719258577u);
  EXPECT_EQ(rng.range(-3, 3), 2);
  EXPECT_FALSE(rng.chance(0.5));
  EXPECT_EQ(rng.normal(), -0x1.b5ca7052fb8a9p-2);
  EXPECT_EQ(rng.normal(), -0x1.e46ac1b10dc5bp-1);  // the saved sine value
  EXPECT_EQ(rng.normal(), 0x1.fb43e2877b956p-2);
  EXPECT_EQ(rng.normal(1, 2), -0x1.fbd6a98fd334ep+0);
}

TEST(RandomPinned, Mt19937Draws) {
  std::mt19937_64 rng(42);
  EXPECT_EQ(random::uniform01(rng), 0x1.82a3befaddcbcp-1);
  EXPECT_EQ(random::uniform_index(rng, 7), 3u);
  EXPECT_EQ(random::uniform_index(rng, 7), 5u);
  EXPECT_EQ(random::uniform_index(rng, 7), 4u);
  EXPECT_EQ(random::uniform_index(rng, (1ULL << 63) + 1), 1735254072534978428ULL);
  EXPECT_TRUE(random::fair_coin(rng));
  EXPECT_FALSE(random::fair_coin(rng));
  EXPECT_FALSE(random::fair_coin(rng));
  EXPECT_EQ(random::exponential(rng, 2.0), 0x1.fa9d40259d0afp-1);

  std::mt19937_64 folds(42);  // the probe's fold shuffle
  EXPECT_EQ(random::uniform_index_reject_low(folds, 7), 6u);
  EXPECT_EQ(random::uniform_index_reject_low(folds, 7), 3u);
  EXPECT_EQ(random::uniform_index_reject_low(folds, 7), 5u);
  EXPECT_EQ(random::uniform_index_reject_low(folds, (1ULL << 63) + 1), 7438999416573663572ULL);

  std::mt19937_64 gaussian(7);  // SHR's ε pair and t-SNE's initialisation
  const random::BoxMuller b = random::box_muller(gaussian);
  EXPECT_EQ(b.radius * std::cos(b.angle), 0x1.9765fb74c31bep+0);
  EXPECT_EQ(b.radius * std::sin(b.angle), -0x1.0cb45202c73ddp-1);
  EXPECT_EQ(1e-4 * b.radius * std::cos(b.angle), 0x1.4dbda158b037ap-13);
}

TEST(RandomPinned, LibstdcxxReplicas) {
  std::mt19937_64 rng(42);
  EXPECT_EQ(random::generate_canonical(rng), 0x1.82a3befaddcbcp-1);
  EXPECT_EQ(random::generate_canonical(rng), 0x1.472f1f73724ap-1);
  EXPECT_EQ(random::uniform_int(rng, 0, 8), 6);
  EXPECT_EQ(random::uniform_int(rng, 0, 8), 1);
  EXPECT_EQ(random::uniform_int(rng, 0, 8), 8);
  EXPECT_EQ(random::uniform_int(rng, -5, 2147483000), 202010095);
  random::GammaDistribution small(0.2);
  EXPECT_EQ(small(rng), 0x1.06d5731a229c2p-12);
  EXPECT_EQ(small(rng), 0x1.8027179ef82d8p-4);
  random::GammaDistribution large(2.5);
  EXPECT_EQ(large(rng), 0x1.06a294e78f992p+2);
  EXPECT_EQ(large(rng), 0x1.3ef9c614bd669p+2);
  random::NormalDistribution normal;
  EXPECT_EQ(normal(rng), -0x1.49206431b8f4ap-2);
  EXPECT_EQ(normal(rng), 0x1.97dce06bd6329p+0);
  EXPECT_EQ(normal(rng), -0x1.46a7968a68bf4p-1);
  std::vector<std::size_t> ten(10), seven(7);
  std::iota(ten.begin(), ten.end(), std::size_t{0});
  std::iota(seven.begin(), seven.end(), std::size_t{0});
  random::shuffle(ten.begin(), ten.end(), rng);
  random::shuffle(seven.begin(), seven.end(), rng);
  EXPECT_EQ(ten, (std::vector<std::size_t>{6, 3, 1, 0, 8, 7, 4, 9, 5, 2}));
  EXPECT_EQ(seven, (std::vector<std::size_t>{5, 0, 2, 3, 1, 6, 4}));
}

TEST(Random, MultiplyByPartsEqualsTheWideProduct) {
  std::mt19937_64 rng(1);
  const std::vector<std::uint64_t> edges = {0, 1, 0xFFFFFFFFULL, 0x100000000ULL, UINT64_MAX, UINT64_MAX - 1};
  for (std::uint64_t a : edges)
    for (std::uint64_t b : edges) {
      const random::Product128 expected = random::multiply_64x64(a, b), actual = random::multiply_64x64_by_parts(a, b);
      EXPECT_EQ(expected.high, actual.high);
      EXPECT_EQ(expected.low, actual.low);
    }
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t a = rng(), b = rng();
    const random::Product128 expected = random::multiply_64x64(a, b), actual = random::multiply_64x64_by_parts(a, b);
    ASSERT_EQ(expected.high, actual.high);
    ASSERT_EQ(expected.low, actual.low);
    ASSERT_EQ(expected.low, a * b);
  }
}

// ---------------------------------------------------------------------------------------
// (3) Sanity of the distributions (means and variances within about 5 standard errors).

TEST(Random, GammaMomentsMatchAlphaAndBeta) {
  const int draws = 200000;
  for (double alpha : {0.05, 0.2, 0.5, 1.0, 2.5}) {
    for (double beta : {1.0, 2.0}) {
      std::mt19937_64 rng(11);
      random::GammaDistribution gamma(alpha, beta);
      double sum = 0, sum_sq = 0;
      for (int i = 0; i < draws; ++i) {
        const double x = gamma(rng);
        ASSERT_GE(x, 0.0);
        sum += x;
        sum_sq += x * x;
      }
      const double mean = sum / draws, variance = sum_sq / draws - mean * mean;
      const double sd = std::sqrt(alpha) * beta;  // of one draw
      EXPECT_NEAR(mean, alpha * beta, 5 * sd / std::sqrt(draws)) << "alpha " << alpha;
      // Var of the sample variance grows with the kurtosis 6/α: a relative band is enough.
      EXPECT_NEAR(variance, alpha * beta * beta, 0.15 * alpha * beta * beta) << "alpha " << alpha;
    }
  }
}

TEST(Random, NormalAndUniformMoments) {
  const int draws = 200000;
  std::mt19937_64 rng(5);
  random::NormalDistribution normal(1.5, 2.0);
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < draws; ++i) {
    const double x = normal(rng);
    sum += x;
    sum_sq += x * x;
  }
  EXPECT_NEAR(sum / draws, 1.5, 5 * 2.0 / std::sqrt(draws));
  EXPECT_NEAR(sum_sq / draws - (sum / draws) * (sum / draws), 4.0, 0.05);

  std::vector<int> counts(9, 0);
  for (int i = 0; i < draws; ++i) {
    const int k = random::uniform_int(rng, 0, 8);
    ASSERT_GE(k, 0);
    ASSERT_LE(k, 8);
    ++counts[static_cast<std::size_t>(k)];
  }
  for (int c : counts) EXPECT_NEAR(c, draws / 9.0, 5 * std::sqrt(draws / 9.0));

  for (int i = 0; i < 10000; ++i) {
    const double u = random::generate_canonical(rng), v = random::uniform01(rng);
    ASSERT_TRUE(u >= 0.0 && u < 1.0);
    ASSERT_TRUE(v >= 0.0 && v < 1.0);
  }
  std::vector<int> shuffled(50);
  std::iota(shuffled.begin(), shuffled.end(), 0);
  random::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::vector<int> sorted = shuffled;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sorted[static_cast<std::size_t>(i)], i);  // a permutation
}

}  // namespace
}  // namespace frerec
