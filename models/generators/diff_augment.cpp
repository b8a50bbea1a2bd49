#include "models/generators/diff_augment.h"

#include <ATen/ATen.h>

#include <sstream>

#include "framework/core/error.h"

namespace frerec::generators {

std::vector<AugmentOp> parse_diff_augment(const std::string& policy, const std::string& key) {
  std::vector<AugmentOp> ops;
  if (policy.empty() || policy == "none") return ops;
  std::stringstream stream(policy);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item == "color" || item == "colour") ops.push_back(AugmentOp::kColor);
    else if (item == "translation") ops.push_back(AugmentOp::kTranslation);
    else if (item == "cutout") ops.push_back(AugmentOp::kCutout);
    else
      throw ConfigError("generator: " + key + "='" + policy + "' has the unknown operation '" + item +
                        "'; use a comma-separated subset of color, translation, cutout (or none)");
  }
  return ops;
}

at::Tensor augment_color(const at::Tensor& x) {
  const int64_t n = x.size(0);
  const auto options = x.options();
  at::Tensor y = x + (at::rand({n, 1, 1, 1}, options) - 0.5);
  const at::Tensor channel_mean = y.mean({1}, true);
  y = (y - channel_mean) * (at::rand({n, 1, 1, 1}, options) * 2.0) + channel_mean;
  const at::Tensor image_mean = y.mean({1, 2, 3}, true);
  return (y - image_mean) * (at::rand({n, 1, 1, 1}, options) + 0.5) + image_mean;
}

at::Tensor augment_translation(const at::Tensor& x, double ratio) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t shift_h = static_cast<int64_t>(static_cast<double>(h) * ratio + 0.5);
  const int64_t shift_w = static_cast<int64_t>(static_cast<double>(w) * ratio + 0.5);
  const auto long_options = x.options().dtype(at::kLong);
  const at::Tensor ty = at::randint(-shift_h, shift_h + 1, {n, 1, 1}, long_options);
  const at::Tensor tx = at::randint(-shift_w, shift_w + 1, {n, 1, 1}, long_options);
  // Source row/column in the 1-pixel zero-padded image; shifts past the border read the pad.
  const at::Tensor rows = at::clamp(at::arange(h, long_options).view({1, h, 1}) + ty + 1, 0, h + 1);
  const at::Tensor cols = at::clamp(at::arange(w, long_options).view({1, 1, w}) + tx + 1, 0, w + 1);
  const at::Tensor batch = at::arange(n, long_options).view({n, 1, 1});
  const at::Tensor flat = ((batch * (h + 2) + rows) * (w + 2) + cols).reshape({-1});
  const at::Tensor padded = at::constant_pad_nd(x, {1, 1, 1, 1}, 0.0).permute({0, 2, 3, 1}).reshape({-1, c});
  return padded.index_select(0, flat).view({n, h, w, c}).permute({0, 3, 1, 2}).contiguous();
}

at::Tensor augment_cutout(const at::Tensor& x, double ratio) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t size_h = static_cast<int64_t>(static_cast<double>(h) * ratio + 0.5);
  const int64_t size_w = static_cast<int64_t>(static_cast<double>(w) * ratio + 0.5);
  const auto long_options = x.options().dtype(at::kLong);
  const at::Tensor oy = at::randint(0, h + (1 - size_h % 2), {n, 1, 1}, long_options) - size_h / 2;
  const at::Tensor ox = at::randint(0, w + (1 - size_w % 2), {n, 1, 1}, long_options) - size_w / 2;
  const at::Tensor rows = at::arange(h, long_options).view({1, h, 1});
  const at::Tensor cols = at::arange(w, long_options).view({1, 1, w});
  const at::Tensor inside = (rows >= oy) & (rows < oy + size_h) & (cols >= ox) & (cols < ox + size_w);
  const at::Tensor mask = at::logical_not(inside).to(x.scalar_type()).unsqueeze(1);
  return x * mask;
}

at::Tensor diff_augment(const at::Tensor& images, const std::vector<AugmentOp>& ops) {
  at::Tensor x = images;
  for (AugmentOp op : ops) {
    switch (op) {
      case AugmentOp::kColor: x = augment_color(x); break;
      case AugmentOp::kTranslation: x = augment_translation(x); break;
      case AugmentOp::kCutout: x = augment_cutout(x); break;
    }
  }
  return x;
}

}  // namespace frerec::generators
