// The known_bias positive-control source (datasets/demo/known_bias.h): the operators against
// independent computations (OpenCV's GaussianBlur, the checkerboard by hand), their spectral
// effect, and the source: held-out images disjoint from the task's, the oracle pool equal to
// the biased pool before its operator, one-line errors.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <random>

#include "datasets/demo/known_bias.h"
#include "framework/config/schema.h"
#include "framework/core/error.h"
#include "framework/core/image_filter.h"
#include "tests/datasets/fixtures.h"

namespace frerec::datasets {
namespace {

using testing::context;
using testing::data;
using testing::fresh_dir;

Image random_image(int channels, int size, std::uint32_t seed, float lo = 0.2f, float hi = 0.8f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Image image(channels, size, size);
  for (float& v : image.data) v = u(rng);
  return image;
}

// Mean squared difference of horizontally and vertically adjacent pixels: the energy of the
// highest frequencies.
double hf_energy(const Image& image) {
  double sum = 0;
  long n = 0;
  for (int c = 0; c < image.channels; ++c)
    for (int y = 0; y + 1 < image.height; ++y)
      for (int x = 0; x + 1 < image.width; ++x) {
        const double dx = image.at(c, y, x + 1) - image.at(c, y, x), dy = image.at(c, y + 1, x) - image.at(c, y, x);
        sum += dx * dx + dy * dy;
        n += 2;
      }
  return sum / static_cast<double>(n);
}

TEST(KnownBias, GaussianBlurEqualsOpenCv) {
  const Image image = random_image(1, 40, 3);
  for (double sigma : {0.6, 1.0, 2.5}) {
    const Image ours = gaussian_blur(image, sigma);
    cv::Mat in(40, 40, CV_64F), out;
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 40; ++x) in.at<double>(y, x) = image.at(0, y, x);
    const int k = 2 * static_cast<int>(std::ceil(3 * sigma)) + 1;
    cv::GaussianBlur(in, out, cv::Size(k, k), sigma, sigma, cv::BORDER_REFLECT_101);
    double worst = 0;
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 40; ++x) worst = std::max(worst, std::abs(out.at<double>(y, x) - ours.at(0, y, x)));
    EXPECT_LT(worst, 1e-6) << "sigma " << sigma;
  }
}

// Box 2x2 mean -> nearest x2 -> [1,2,1]/4 both ways, computed by hand at interior pixels.
TEST(KnownBias, CheckerboardIsBoxNearestThenBinomial) {
  const Image image = random_image(2, 16, 5);
  BiasOptions options;
  options.op = "checkerboard";
  const Image out = apply_bias(image, options, 0);
  auto up = [&](int c, int y, int x) {
    const int y0 = y / 2 * 2, x0 = x / 2 * 2;
    return 0.25 * (image.at(c, y0, x0) + image.at(c, y0, x0 + 1) + image.at(c, y0 + 1, x0) + image.at(c, y0 + 1, x0 + 1));
  };
  const double w[3] = {0.25, 0.5, 0.25};
  for (int c = 0; c < 2; ++c)
    for (int y = 1; y < 15; ++y)
      for (int x = 1; x < 15; ++x) {
        double expected = 0;
        for (int i = -1; i <= 1; ++i)
          for (int j = -1; j <= 1; ++j) expected += w[i + 1] * w[j + 1] * up(c, y + i, x + j);
        ASSERT_NEAR(out.at(c, y, x), expected, 1e-6) << c << " " << y << " " << x;
      }
  // A flat image stays flat; blend 0 is the identity; half-way is the mean of the two.
  Image flat(1, 8, 8, 0.3f);
  for (float v : apply_bias(flat, options, 0).data) EXPECT_NEAR(v, 0.3f, 1e-6);
  options.blend = 0;
  EXPECT_EQ(apply_bias(image, options, 0).data, image.data);
  options.blend = 0.5;
  const Image half = apply_bias(image, options, 0);
  EXPECT_NEAR(half.data[40], 0.5 * (image.data[40] + out.data[40]), 1e-6);
  options.blend = 1;
  EXPECT_THROW(apply_bias(random_image(1, 15, 1), options, 0), ConfigError);
}

// blur removes high frequencies, hf_noise adds them (high-pass: little change after a blur),
// checkerboard changes them; hf_noise is seeded and has the requested spread.
TEST(KnownBias, OperatorsMoveTheHighFrequenciesTheWayTheyAreNamed) {
  const Image image = random_image(1, 64, 9, 0.3f, 0.7f);
  BiasOptions blur, noise, checker;
  blur.op = "blur";
  noise.op = "hf_noise";
  checker.op = "checkerboard";
  EXPECT_LT(hf_energy(apply_bias(image, blur, 0)), 0.2 * hf_energy(image));
  const Image grey(1, 64, 64, 0.5f);
  const Image noisy = apply_bias(grey, noise, 7);
  double sum_sq = 0;
  Image diff(1, 64, 64);
  for (std::size_t i = 0; i < grey.size(); ++i) {
    diff.data[i] = noisy.data[i] - grey.data[i];
    sum_sq += diff.data[i] * diff.data[i];
  }
  EXPECT_NEAR(std::sqrt(sum_sq / static_cast<double>(grey.size())), 0.04, 1e-4);
  double low_sq = 0;
  for (float v : gaussian_blur(diff, 2.0).data) low_sq += v * v;
  EXPECT_LT(low_sq, 0.05 * sum_sq) << "the added noise is high-pass";
  EXPECT_EQ(apply_bias(grey, noise, 7).data, noisy.data);
  EXPECT_NE(apply_bias(grey, noise, 8).data, noisy.data);
  const Image smooth = gaussian_blur(image, 2.0);
  EXPECT_GT(hf_energy(apply_bias(smooth, noise, 1)), 1.5 * hf_energy(smooth));
  EXPECT_NE(hf_energy(apply_bias(image, checker, 0)), hf_energy(image));
  BiasOptions none;
  EXPECT_EQ(apply_bias(image, none, 0).data, image.data);
  BiasOptions unknown;
  unknown.op = "sharpen";
  EXPECT_THROW(apply_bias(image, unknown, 0), ConfigError);
}

// Through load_task: the pool is held out (no image equals a train or test image), the oracle
// (operator none) is the biased pool before its operator, and the generator is recorded.
TEST(KnownBias, SourceGivesHeldOutImagesAndTheirBiasedCopies) {
  register_all();
  const auto cache = fresh_dir("known_bias_cache");
  auto section = [](const std::string& op) {
    return data("{name: demo_mri, image_size: 32, counts: {train: {positive: 4, negative: 4}, test: {positive: 2, "
                "negative: 2}, synthetic: {positive: 3, negative: 3}}, demo_mri: {train_per_class: 6, "
                "test_per_class: 3}, synthetic: {name: known_bias, known_bias: {operator: " + op + "}}}");
  };
  const TaskData oracle = load_task(section("none"), context(cache));
  const TaskData blurred = load_task(section("blur"), context(cache));
  ASSERT_EQ(oracle.synthetic.size(), 6u);
  EXPECT_EQ(oracle.generator, "known_bias:none");
  EXPECT_EQ(blurred.generator, "known_bias:blur");
  const auto pool = oracle.synthetic.read_range(0, 6), biased = blurred.synthetic.read_range(0, 6);
  const auto train = oracle.real_train.read_range(0, oracle.real_train.size());
  const auto test = oracle.real_test.read_range(0, oracle.real_test.size());
  BiasOptions blur;
  blur.op = "blur";
  for (std::size_t i = 0; i < pool.size(); ++i) {
    for (const auto& real : train) EXPECT_NE(real.data, pool[i].data) << i;
    for (const auto& real : test) EXPECT_NE(real.data, pool[i].data) << i;
    // The cache stores 8-bit pixels: the biased image is the blurred oracle to within rounding.
    const Image expected = apply_bias(pool[i], blur, 0);
    for (std::size_t k = 0; k < expected.size(); ++k) ASSERT_NEAR(biased[i].data[k], expected.data[k], 1.5 / 255) << i;
  }
  EXPECT_EQ(oracle.synthetic.labels(), blurred.synthetic.labels());

  const auto schema = dataset_schema("known_bias");
  const config::Params defaults(schema->validate(YAML::Node(), "data.synthetic.known_bias", config::Provenance()),
                                "data.synthetic.known_bias");
  SourceOptions options;
  options.task = "kaggle_dr";
  const std::string wrong_task =
      testing::error_of<ConfigError>([&] { dataset_registry().create("known_bias", defaults, options); });
  EXPECT_NE(wrong_task.find("known_bias: data.name is 'kaggle_dr'"), std::string::npos) << wrong_task;
  options.task = "demo_mri";
  options.image_size = 33;  // checkerboard (the default operator) needs an even size
  EXPECT_THROW(dataset_registry().create("known_bias", defaults, options), ConfigError);
  EXPECT_THROW(section("sharpen"), ConfigError);
  std::filesystem::remove_all(cache);
}

}  // namespace
}  // namespace frerec::datasets
