#include "tests/models/deterministic_fill.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cmath>
#include <string>
#include <utility>

#include "framework/io/state_dict.h"

namespace frerec::models::testing {

namespace {

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// value = offset + scale * u (offset 0 gives exactly scale * u, as the script computes).
std::pair<double, double> fill_rule(const std::string& name, const at::Tensor& t) {
  if (ends_with(name, "running_var")) return {1.0, 0.5};
  if (ends_with(name, "running_mean")) return {0.0, 0.1};
  if (t.dim() == 1 && ends_with(name, "weight")) return {1.0, 0.1};
  if (t.dim() == 1) return {0.0, 0.1};
  if (ends_with(name, "class_token") || ends_with(name, "pos_embedding")) return {0.0, 0.02};
  const double fan_in = static_cast<double>(t.numel() / t.size(0));
  return {0.0, std::sqrt(3.0 / fan_in)};
}

}  // namespace

double deterministic_uniform(uint64_t seed, uint64_t t, uint64_t i) {
  const uint64_t z = splitmix64((seed << 48) | (t << 32) | i);
  return static_cast<double>(z >> 40) / static_cast<double>(1u << 23) - 1.0;
}

void deterministic_fill(torch::nn::Module& module, uint64_t seed) {
  at::NoGradGuard no_grad;
  uint64_t t = 0;
  for (auto& [name, tensor] : io::state_dict(module)) {
    if (ends_with(name, "num_batches_tracked")) {
      tensor.zero_();
    } else {
      at::Tensor values = at::empty(tensor.sizes(), at::kFloat);
      float* out = values.data_ptr<float>();
      const auto [offset, scale] = fill_rule(name, tensor);
      for (int64_t i = 0; i < values.numel(); ++i) {
        out[i] = static_cast<float>(offset + scale * deterministic_uniform(seed, t, static_cast<uint64_t>(i)));
      }
      tensor.copy_(values);
    }
    ++t;
  }
}

at::Tensor deterministic_input(uint64_t seed, const std::vector<int64_t>& shape) {
  at::Tensor x = at::empty(shape, at::kFloat);
  float* out = x.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    out[i] = static_cast<float>((deterministic_uniform(seed, 0xFFFF, static_cast<uint64_t>(i)) + 1.0) / 2.0);
  }
  return x;
}

}  // namespace frerec::models::testing
