#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "framework/core/error.h"
#include "framework/spectral/spectrum.h"
#include "tests/spectral/test_util.h"

namespace frerec::spectral {
namespace {

using testing::golden_dir;

TEST(Profile, MatchesDurallReferenceGolden) {
  std::ifstream in(golden_dir() + "profile_cases.json");
  ASSERT_TRUE(in);
  const auto doc = nlohmann::json::parse(in);
  const auto pixels = testing::read_floats(golden_dir() + "profile_cases.bin");
  int checked = 0;
  for (const auto& c : doc["cases"]) {
    const Image x = testing::image_from(pixels, c["x"].get<std::size_t>(), c["c"], c["h"], c["w"]);
    const auto expected = c["profile"].get<std::vector<double>>();
    const auto profile = azimuthal_profile(x);
    ASSERT_EQ(profile.size(), expected.size()) << x.height << "x" << x.width;
    for (std::size_t j = 0; j < profile.size(); ++j) EXPECT_NEAR(profile[j], expected[j], 1e-6) << j;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(Profile, BinCountLikeDurallAt128) {
  EXPECT_EQ(azimuthal_profile(testing::smooth_image(1, 128, 128, 1)).size(), 88u);
}

TEST(SpectralGap, ZeroForIdenticalSetsAndLargerForNoisierSets) {
  std::vector<Image> a, b, noisy;
  for (int i = 0; i < 6; ++i) {
    a.push_back(testing::smooth_image(1, 48, 40, 10 + i, 0.01f));
    b.push_back(testing::smooth_image(1, 48, 40, 30 + i, 0.01f));
    noisy.push_back(testing::smooth_image(1, 48, 40, 30 + i, 0.2f));
  }
  const auto same = spectral_gap(a, a, 2);
  EXPECT_DOUBLE_EQ(same.high_band, 0.0);
  EXPECT_DOUBLE_EQ(same.all_radii, 0.0);
  const auto near = spectral_gap(a, b, 2), far = spectral_gap(a, noisy, 2);
  EXPECT_GT(far.high_band, near.high_band);
  EXPECT_GT(far.high_band, 1.5 * near.high_band) << near.high_band;
  // Definition by hand on two short profiles: bins 0..9 hold radii 1..10, r = 0.5 → radii ≥ 5.
  std::vector<double> p(10, 0.0), q(10, 0.0);
  for (int j = 0; j < 10; ++j) q[j] = j;
  const auto g = spectral_gap(p, q, 0.5);
  EXPECT_EQ(g.first_high_bin, 4);
  EXPECT_DOUBLE_EQ(g.high_band, (4 + 5 + 6 + 7 + 8 + 9) / 6.0);
  EXPECT_DOUBLE_EQ(g.all_radii, 4.5);
  EXPECT_THROW(spectral_gap(p, std::vector<double>(9, 0.0), 0.5), ConfigError);
  EXPECT_THROW(spectral_gap(std::vector<Image>{}, a, 1), ConfigError);
}

TEST(MeanLogSpectrum, AveragesImagesAndChannels) {
  std::vector<Image> set = {testing::random_image(3, 12, 10, 1), testing::random_image(3, 12, 10, 2)};
  const auto mean = mean_log_spectrum(set, 2);
  ASSERT_EQ(mean.size(), 120u);
  double expected = 0.0;
  for (const auto& img : set) {
    const auto la = log_amplitude(centred_spectrum<double>(img));
    for (int c = 0; c < 3; ++c) expected += la[c * 120 + 17];
  }
  EXPECT_NEAR(mean[17], expected / 6.0, 1e-12);
  set.push_back(testing::random_image(1, 12, 10, 3));
  EXPECT_THROW(mean_log_spectrum(set, 1), ConfigError);
}

}  // namespace
}  // namespace frerec::spectral
