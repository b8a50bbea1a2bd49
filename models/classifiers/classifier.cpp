#include "models/classifiers/classifier.h"

#include <fmt/format.h>
#include <torch/types.h>

#include <string>

#include "framework/core/error.h"

namespace frerec::models {

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

void Classifier::set_input_normalization(std::vector<double> mean, std::vector<double> std) {
  if (mean.size() != std.size() || (!mean.empty() && static_cast<int64_t>(mean.size()) != in_channels()))
    throw ConfigError(fmt::format("models: input normalisation has {} means and {} standard deviations for a model of "
                                  "{} input channel(s)",
                                  mean.size(), std.size(), in_channels()));
  for (double s : std)
    if (!(s > 0)) throw ConfigError(fmt::format("models: input normalisation std {} must be > 0", s));
  input_mean_ = std::move(mean);
  input_std_ = std::move(std);
}

torch::Tensor Classifier::normalize_input(const torch::Tensor& x) const {
  if (input_mean_.empty()) return x;
  const auto options = torch::TensorOptions().dtype(torch::kDouble);
  const auto shape = std::vector<int64_t>{1, static_cast<int64_t>(input_mean_.size()), 1, 1};
  const auto mean = torch::tensor(input_mean_, options).view(shape).to(x.device(), x.scalar_type());
  const auto std = torch::tensor(input_std_, options).view(shape).to(x.device(), x.scalar_type());
  return (x - mean) / std;
}

std::pair<std::vector<double>, std::vector<double>> imagenet_statistics(int64_t channels) {
  const std::vector<double> mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225};
  if (channels == 1) return {{(mean[0] + mean[1] + mean[2]) / 3}, {(std[0] + std[1] + std[2]) / 3}};
  std::vector<double> m, s;
  for (int64_t c = 0; c < channels; ++c) {
    m.push_back(mean[static_cast<std::size_t>(c % 3)]);
    s.push_back(std[static_cast<std::size_t>(c % 3)]);
  }
  return {m, s};
}

void check_input(const torch::Tensor& x, int64_t in_channels, const std::string& component) {
  if (x.dim() != 4 || x.size(1) != in_channels) {
    std::string shape = "[";
    for (int64_t d = 0; d < x.dim(); ++d) shape += (d ? "," : "") + std::to_string(x.size(d));
    shape += "]";
    throw RunError(component + ": input batch has shape " + shape + " but the model expects [N," +
                   std::to_string(in_channels) + ",H,W]; set the model's in_channels to the images' channels");
  }
}

}  // namespace frerec::models
