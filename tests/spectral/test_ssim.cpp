#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>

#include "framework/core/error.h"
#include "framework/spectral/ssim.h"
#include "tests/spectral/test_util.h"

namespace frerec::spectral {
namespace {

using testing::golden_dir;

TEST(Ssim, MatchesSkimageGolden) {
  std::ifstream in(golden_dir() + "ssim_cases.json");
  ASSERT_TRUE(in) << "missing golden file";
  const auto doc = nlohmann::json::parse(in);
  const auto pixels = testing::read_floats(golden_dir() + "ssim_cases.bin");
  int checked = 0;
  for (const auto& c : doc["cases"]) {
    const int ch = c["c"], h = c["h"], w = c["w"];
    const Image x = testing::image_from(pixels, c["x"].get<std::size_t>(), ch, h, w);
    const Image y = testing::image_from(pixels, c["y"].get<std::size_t>(), ch, h, w);
    EXPECT_NEAR(ssim(x, y, SsimWindow::kGaussian), c["gaussian"].get<double>(), 1e-5) << ch << "x" << h << "x" << w;
    EXPECT_NEAR(ssim(x, y, SsimWindow::kUniform), c["uniform"].get<double>(), 1e-5) << ch << "x" << h << "x" << w;
    ++checked;
  }
  EXPECT_EQ(checked, 12);
}

TEST(Ssim, IdenticalImagesScoreOneAndIsSymmetric) {
  const Image a = testing::smooth_image(3, 20, 25, 1), b = testing::smooth_image(3, 20, 25, 2);
  EXPECT_NEAR(ssim(a, a), 1.0, 1e-12);
  EXPECT_NEAR(ssim(a, b, SsimWindow::kUniform), ssim(b, a, SsimWindow::kUniform), 1e-12);
  EXPECT_LT(ssim(a, b), 0.99);
}

TEST(Ssim, GaussianTapsMatchScipy) {
  const SsimSettings s = ssim_settings(SsimWindow::kGaussian);
  ASSERT_EQ(s.size, 11);
  double sum = 0.0;
  for (double t : s.taps) sum += t;
  EXPECT_NEAR(sum, 1.0, 1e-15);
  EXPECT_NEAR(s.taps[5], 0.26601172486179436, 1e-15);  // scipy _gaussian_kernel1d(1.5, 0, 5)[5]
  EXPECT_EQ(ssim_settings(SsimWindow::kUniform).size, 7);
  EXPECT_DOUBLE_EQ(ssim_settings(SsimWindow::kUniform).covariance_norm, 49.0 / 48.0);
}

TEST(Ssim, BadInputThrowsNamingTheProblem) {
  const Image a = testing::random_image(1, 16, 16, 1), b = testing::random_image(3, 16, 16, 2);
  try {
    ssim(a, b);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("1x16x16"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("3x16x16"), std::string::npos);
  }
  const Image small = testing::random_image(1, 10, 30, 3);
  EXPECT_THROW(ssim(small, small, SsimWindow::kGaussian), ConfigError);
  EXPECT_NO_THROW(ssim(small, small, SsimWindow::kUniform));
  Image nan = testing::random_image(1, 16, 16, 4);
  nan.at(0, 3, 5) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(ssim(a, nan), RunError);
  EXPECT_THROW(parse_ssim_window("box", "test"), ConfigError);
}

}  // namespace
}  // namespace frerec::spectral
