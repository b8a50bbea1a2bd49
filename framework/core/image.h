// The framework's torch-free image type (shared/DESIGN.md §3): float32, channel-major
// [C,H,W], values in [0,1]. C = 1 for MRI and X-ray, 3 for fundus (RGB order).
// Conversions to uint8/uint16 happen only at file I/O. Batches are std::vector<Image>;
// code inside networks converts to torch tensors [N,C,H,W] with the same layout.
#pragma once

#include <cstddef>
#include <vector>

namespace frerec {

struct Image {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<float> data;  // size channels*height*width, index (c*height + y)*width + x

  Image() = default;
  Image(int c, int h, int w, float fill = 0.0f)
      : channels(c), height(h), width(w), data(static_cast<std::size_t>(c) * h * w, fill) {}

  std::size_t plane_size() const { return static_cast<std::size_t>(height) * width; }
  std::size_t size() const { return data.size(); }
  bool empty() const { return data.empty(); }
  float* plane(int c) { return data.data() + c * plane_size(); }
  const float* plane(int c) const { return data.data() + c * plane_size(); }
  float& at(int c, int y, int x) { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
  float at(int c, int y, int x) const { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
  bool same_shape(const Image& other) const {
    return channels == other.channels && height == other.height && width == other.width;
  }
};

}  // namespace frerec
