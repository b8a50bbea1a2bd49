#include "models/restoration/fesa.h"

#include <ATen/ATen.h>
#include <torch/fft.h>
#include <torch/nn/options/conv.h>

#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "framework/core/error.h"
#include "models/restoration/torch_compat.h"

namespace frerec::restoration {
namespace {

PolarGrid build_polar_grid(int64_t height, int64_t width, int64_t ring_width, int64_t angular_bins) {
  PolarGrid grid;
  grid.height = height;
  grid.width = width;
  grid.ring_width = ring_width;
  grid.angular_bins = angular_bins;
  const int64_t radius = (std::max(height, width) + 1) / 2;  // R = ceil(max(H,W)/2)
  grid.rings = std::max<int64_t>(1, (radius + ring_width - 1) / ring_width);
  const int64_t cy = height / 2, cx = width / 2;
  std::vector<int64_t> cell(static_cast<size_t>(height * width));
  std::vector<float> count(static_cast<size_t>(grid.cells()), 0.0f);
  const double pi = std::acos(-1.0);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      const double dy = static_cast<double>(y - cy), dx = static_cast<double>(x - cx);
      const double r = std::sqrt(dy * dy + dx * dx);
      const int64_t ring = std::min(grid.rings - 1, static_cast<int64_t>(std::floor(r / ring_width)));
      const double theta = std::atan2(dy, dx);
      int64_t bin = static_cast<int64_t>(std::floor((theta + pi) / (2 * pi) * angular_bins));
      bin = ((bin % angular_bins) + angular_bins) % angular_bins;
      const int64_t id = bin * grid.rings + ring;
      cell[static_cast<size_t>(y * width + x)] = id;
      count[static_cast<size_t>(id)] += 1.0f;
    }
  }
  for (float& c : count) c = c > 0 ? 1.0f / c : 0.0f;
  grid.cell_of_pixel = torch::tensor(cell, torch::kInt64);
  grid.inverse_count = torch::tensor(count, torch::kFloat32);
  return grid;
}

}  // namespace

PolarGrid polar_grid(int64_t height, int64_t width, int64_t ring_width, int64_t angular_bins,
                     const torch::Device& device) {
  if (ring_width < 1)
    throw ConfigError("fesa: ring_width d=" + std::to_string(ring_width) + " must be >= 1 (pixels of radius)");
  if (angular_bins < 1)
    throw ConfigError("fesa: angular_bins P=" + std::to_string(angular_bins) + " must be >= 1");
  if (height < 1 || width < 1)
    throw RunError("fesa: feature size " + std::to_string(height) + "x" + std::to_string(width) + " is empty");
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, std::string>;
  static std::mutex mutex;
  static std::map<Key, PolarGrid> cache;
  const Key key{height, width, ring_width, angular_bins, device.str()};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  PolarGrid grid = build_polar_grid(height, width, ring_width, angular_bins);
  grid.cell_of_pixel = grid.cell_of_pixel.to(device);
  grid.inverse_count = grid.inverse_count.to(device);
  cache.emplace(key, grid);
  return grid;
}

torch::Tensor polar_pool(const torch::Tensor& centred, const PolarGrid& grid) {
  FREREC_ASSERT(centred.dim() == 3 && centred.size(1) == grid.height && centred.size(2) == grid.width,
                "polar_pool: spectrum shape does not match the polar grid");
  const int64_t n = centred.size(0);
  auto flat = centred.reshape({n, grid.height * grid.width});
  auto sums = torch::zeros({n, grid.cells()}, flat.options()).index_add(1, grid.cell_of_pixel, flat);
  return (sums * grid.inverse_count.to(flat.scalar_type())).view({n, grid.angular_bins, grid.rings});
}

torch::Tensor polar_unpool(const torch::Tensor& cells, const PolarGrid& grid) {
  FREREC_ASSERT(cells.dim() == 3 && cells.size(1) == grid.angular_bins && cells.size(2) == grid.rings,
                "polar_unpool: cell map shape does not match the polar grid");
  const int64_t n = cells.size(0);
  return cells.reshape({n, grid.cells()}).index_select(1, grid.cell_of_pixel).view({n, grid.height, grid.width});
}

FrequencyBranchImpl::FrequencyBranchImpl(int64_t channels, int64_t ring_width, int64_t angular_bins, bool bias)
    : ring_width_(ring_width), angular_bins_(angular_bins) {
  using torch::nn::Conv2dOptions;
  // Angle rows are padded circularly by hand in forward(); the ring axis gets zero padding here.
  gate = register_module("gate", torch::nn::Conv2d(Conv2dOptions(1, 1, 3).padding({0, 1}).bias(true)));
  refine = register_module("refine", torch::nn::Conv2d(Conv2dOptions(1, 1, 3).padding({0, 1}).bias(true)));
  project = register_module("project", torch::nn::Conv2d(Conv2dOptions(channels, channels, 1).bias(bias)));
}

torch::Tensor FrequencyBranchImpl::forward(const torch::Tensor& x) {
  const int64_t height = x.size(2), width = x.size(3);
  const PolarGrid grid = polar_grid(height, width, ring_width_, angular_bins_, x.device());
  auto spectrum = torch::fft::fft2(x, FREREC_TORCH_NULLOPT, {-2, -1}, "ortho");  // per channel, complex [N,C,H,W]
  auto amplitude = spectrum.abs();
  auto phase = spectrum / amplitude.clamp_min(1e-8);
  auto pooled = torch::fft::fftshift(amplitude.mean(1), {-2, -1});                        // F_spe [N,H,W]
  auto cells = polar_pool(pooled, grid).unsqueeze(1);                                      // [N,1,P,R]
  auto wrapped = torch::cat({cells.narrow(2, grid.angular_bins - 1, 1), cells, cells.narrow(2, 0, 1)}, 2);
  auto mapped = torch::sigmoid(gate->forward(wrapped)) * refine->forward(wrapped);         // [N,1,P,R]
  auto new_amplitude = torch::fft::ifftshift(polar_unpool(mapped.squeeze(1), grid), {-2, -1});  // [N,H,W]
  auto spatial = at::real(torch::fft::ifft2(new_amplitude.unsqueeze(1) * phase, FREREC_TORCH_NULLOPT, {-2, -1}, "ortho"));
  return project->forward(spatial.contiguous());
}

}  // namespace frerec::restoration
