// gda_lowpass (the worked example of docs/adding_a_method.md): the Gaussian blur against
// scipy.ndimage.gaussian_filter (golden, tests/golden/augmentations/make_gaussian_blur.py),
// the blurring source, and the registry entry with its schema.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "augmentations/core/gda_lowpass.h"
#include "augmentations/method.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"

namespace frerec::augmentations {
namespace {

TEST(GdaLowpass, BlurMatchesScipyGaussianFilter) {
  const auto golden = nlohmann::json::parse(
      read_file(std::filesystem::path(FREREC_SOURCE_DIR) / "tests/golden/augmentations/gaussian_blur.json"));
  ASSERT_EQ(golden["cases"].size(), 3u);
  for (const auto& c : golden["cases"]) {
    const auto shape = c["shape"].get<std::vector<int>>();
    Image image(shape[0], shape[1], shape[2]);
    image.data = c["input"].get<std::vector<float>>();
    const auto expected = c["output"].get<std::vector<double>>();
    const Image out = gaussian_blur(image, c["sigma"].get<double>());
    ASSERT_EQ(out.data.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(out.data[i], expected[i], 2e-6) << "sigma " << c["sigma"] << " at " << i;
  }
}

TEST(GdaLowpass, KernelIsNormalisedAndBlurKeepsConstantsAndRemovesHighFrequencies) {
  const auto kernel = gaussian_kernel(1.2);
  EXPECT_EQ(kernel.size(), 9u);  // radius ceil(3.6) = 4
  double sum = 0;
  for (float k : kernel) sum += k;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  const Image flat(3, 6, 6, 0.25f);
  for (float v : gaussian_blur(flat, 1.0).data) EXPECT_NEAR(v, 0.25f, 1e-6);
  Image checker(1, 8, 8);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) checker.at(0, y, x) = (x + y) % 2 ? 1.0f : 0.0f;
  double before = 0, after = 0;
  const Image blurred = gaussian_blur(checker, 1.0);
  for (std::size_t i = 0; i < checker.data.size(); ++i) {
    before += std::fabs(checker.data[i] - 0.5);
    after += std::fabs(blurred.data[i] - 0.5);
  }
  EXPECT_LT(after, 0.05 * before);
  EXPECT_EQ(gaussian_blur(checker, 0.0).data, checker.data);
  EXPECT_THROW(gaussian_kernel(-1.0), ConfigError);
}

TEST(GdaLowpass, SourceBlursEveryImageAndKeepsLabels) {
  std::vector<train::Sample> samples;
  Image checker(1, 8, 8);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) checker.at(0, y, x) = (x + y) % 2 ? 1.0f : 0.0f;
  samples.push_back({checker, 1, "a"});
  samples.push_back({checker, 0, "b"});
  const BlurredSource source(std::make_shared<train::VectorSampleSource>(samples), 1.0);
  ASSERT_EQ(source.size(), 2u);
  const train::Sample s = source.get(1);
  EXPECT_EQ(s.label, 0);
  EXPECT_EQ(s.id, "b");
  EXPECT_EQ(s.image.data, gaussian_blur(checker, 1.0).data);
}

TEST(GdaLowpass, IsRegisteredWithItsSchema) {
  register_all();
  ASSERT_TRUE(method_registry().contains("gda_lowpass"));
  const config::Schema schema = gda_lowpass_schema();
  EXPECT_NE(schema.find("sigma"), nullptr);
  EXPECT_NE(schema.find("synthetic_per_class"), nullptr);
  YAML::Node bad;
  bad["sigma"] = -2.0;
  EXPECT_THROW(schema.validate(bad, "method.gda_lowpass", config::Provenance()), ConfigError);
}

}  // namespace
}  // namespace frerec::augmentations
