// Helpers shared by the spectral tests: seeded synthetic images and golden-file loading.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::spectral::testing {

inline Image random_image(int c, int h, int w, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Image img(c, h, w);
  for (float& v : img.data) v = u(rng);
  return img;
}

// "Real-looking": a smooth blob pattern (low frequencies dominate, like medical images)
// plus a little texture noise, in [0,1].
inline Image smooth_image(int c, int h, int w, std::uint64_t seed, float noise = 0.03f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> n(0.0, 1.0);
  Image img(c, h, w);
  const int blobs = 4;
  double cx[blobs], cy[blobs], s[blobs], a[blobs];
  for (int b = 0; b < blobs; ++b) {
    cx[b] = u(rng) * w;
    cy[b] = u(rng) * h;
    s[b] = (0.1 + 0.25 * u(rng)) * std::min(h, w);
    a[b] = 0.2 + 0.3 * u(rng);
  }
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        double v = 0.1 + 0.05 * ch;
        for (int b = 0; b < blobs; ++b)
          v += a[b] * std::exp(-((x - cx[b]) * (x - cx[b]) + (y - cy[b]) * (y - cy[b])) / (2 * s[b] * s[b]));
        v += noise * n(rng);
        img.at(ch, y, x) = static_cast<float>(std::min(1.0, std::max(0.0, v)));
      }
  return img;
}

inline std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const auto bytes = static_cast<std::size_t>(in.tellg());
  in.seekg(0);
  std::vector<float> data(bytes / sizeof(float));
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
  return data;
}

inline Image image_from(const std::vector<float>& pixels, std::size_t offset, int c, int h, int w) {
  Image img(c, h, w);
  for (std::size_t i = 0; i < img.size(); ++i) img.data[i] = pixels[offset + i];
  return img;
}

inline std::string golden_dir() { return std::string(FREREC_SOURCE_DIR) + "/tests/golden/spectral/"; }

}  // namespace frerec::spectral::testing
