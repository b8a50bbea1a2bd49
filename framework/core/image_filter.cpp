#include "framework/core/image_filter.h"

#include <cmath>
#include <string>

#include "framework/core/error.h"

namespace frerec {

std::vector<float> gaussian_kernel(double sigma) {
  if (!(sigma > 0)) throw ConfigError("gaussian_kernel: sigma " + std::to_string(sigma) + " must be > 0");
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  std::vector<double> taps(static_cast<std::size_t>(2 * radius + 1));
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += taps[static_cast<std::size_t>(i + radius)] = std::exp(-0.5 * i * i / (sigma * sigma));
  std::vector<float> kernel(taps.size());
  for (std::size_t i = 0; i < taps.size(); ++i) kernel[i] = static_cast<float>(taps[i] / sum);
  return kernel;
}

namespace {
// Reflect-101 (…c b | a b c d | c b…) for any offset, also when it exceeds the size.
int reflect101(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}
}  // namespace

Image convolve_separable(const Image& image, const std::vector<float>& kernel) {
  const int radius = static_cast<int>(kernel.size() / 2);
  Image rows(image.channels, image.height, image.width), out(image.channels, image.height, image.width);
  for (int c = 0; c < image.channels; ++c) {
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x) {
        float v = 0;
        for (int k = -radius; k <= radius; ++k)
          v += kernel[static_cast<std::size_t>(k + radius)] * image.at(c, y, reflect101(x + k, image.width));
        rows.at(c, y, x) = v;
      }
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x) {
        float v = 0;
        for (int k = -radius; k <= radius; ++k)
          v += kernel[static_cast<std::size_t>(k + radius)] * rows.at(c, reflect101(y + k, image.height), x);
        out.at(c, y, x) = v;
      }
  }
  return out;
}

Image gaussian_blur(const Image& image, double sigma) {
  if (sigma == 0) return image;
  return convolve_separable(image, gaussian_kernel(sigma));
}

}  // namespace frerec
