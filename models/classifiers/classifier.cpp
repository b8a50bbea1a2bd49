#include "models/classifiers/classifier.h"

#include <string>

#include "framework/core/error.h"

namespace frerec::models {

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) n += p.numel();
  return n;
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
