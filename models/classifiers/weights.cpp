#include "models/classifiers/weights.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/nn/module.h>

#include <regex>
#include <unordered_map>

#include "framework/core/error.h"
#include "framework/io/state_dict.h"
#include "models/classifiers/classifier.h"
#include "models/classifiers/vit.h"

namespace frerec::models {

namespace {

std::string shape_string(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "," : "") + std::to_string(sizes[i]);
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// 3-channel (or any) first-conv kernel [O, I, k, k] → [O, C, k, k].
at::Tensor adapt_input_channels(const at::Tensor& weight, int64_t channels) {
  if (channels == 1) return weight.sum(1, /*keepdim=*/true);
  const int64_t in = weight.size(1);
  const int64_t repeats = (channels + in - 1) / in;
  at::Tensor w = weight.repeat({1, repeats, 1, 1}).narrow(1, 0, channels);
  return w * (static_cast<double>(in) / static_cast<double>(channels));
}

at::Tensor resize_patch_kernel(const at::Tensor& weight, int64_t new_patch) {
  const double old_patch = static_cast<double>(weight.size(2));
  at::Tensor resized = at::upsample_bilinear2d(weight, {new_patch, new_patch}, /*align_corners=*/false);
  return resized * (old_patch * old_patch / static_cast<double>(new_patch * new_patch));
}

}  // namespace

std::string remap_legacy_key(const std::string& key) {
  // torchvision.models.densenet._load_state_dict's pattern.
  static const std::regex densenet(
      R"(^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$)");
  static const std::regex vit_mlp(R"(^(.*\.mlp\.)linear_([12])\.(weight|bias)$)");
  std::smatch m;
  if (std::regex_match(key, m, densenet)) return m[1].str() + m[2].str();
  if (std::regex_match(key, m, vit_mlp)) return m[1].str() + (m[2].str() == "1" ? "0" : "3") + "." + m[3].str();
  return key;
}

at::Tensor resize_pos_embedding(const at::Tensor& pos_embedding, int64_t new_grid, const std::string& mode) {
  FREREC_ASSERT(pos_embedding.dim() == 3 && pos_embedding.size(0) == 1, "pos_embedding must be [1, L, D]");
  const int64_t old_tokens = pos_embedding.size(1) - 1;
  const auto old_grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(old_tokens))));
  if (old_grid * old_grid != old_tokens) {
    throw RunError("models: pos_embedding has " + std::to_string(old_tokens) +
                   " patch positions, which is not a square grid; cannot resize it");
  }
  const int64_t dim = pos_embedding.size(2);
  at::Tensor cls = pos_embedding.narrow(1, 0, 1);
  if (old_grid == new_grid) return pos_embedding.clone();
  at::Tensor grid = pos_embedding.narrow(1, 1, old_tokens).reshape({1, old_grid, old_grid, dim}).permute({0, 3, 1, 2});
  at::Tensor resized;
  if (mode == "bilinear") {
    resized = at::upsample_bilinear2d(grid.contiguous(), {new_grid, new_grid}, /*align_corners=*/true);
  } else if (mode == "bicubic") {
    resized = at::upsample_bicubic2d(grid.contiguous(), {new_grid, new_grid}, /*align_corners=*/true);
  } else {
    throw ConfigError("models: pos_embedding interpolation '" + mode + "' is unknown; use bilinear or bicubic");
  }
  resized = resized.permute({0, 2, 3, 1}).reshape({1, new_grid * new_grid, dim});
  return at::cat({cls, resized}, 1);
}

LoadReport load_state_dict(Classifier& model, StateDict weights, const LoadOptions& options) {
  LoadReport report;
  for (auto& [key, tensor] : weights) {
    const std::string name = remap_legacy_key(key);
    if (name != key) report.renamed.push_back(key + " -> " + name);
    key = name;
  }
  std::unordered_map<std::string, at::Tensor> model_tensors;
  for (const auto& [key, tensor] : io::state_dict(model)) model_tensors[key] = tensor;
  const std::string head = model.head_prefix();
  const std::string first_conv = model.first_conv_key();
  // Adapt what can be adapted; a head of another shape becomes the model's own tensor (its
  // copy is a no-op). Whatever still differs is left to io::load_state to report.
  for (auto& [key, src] : weights) {
    const auto it = model_tensors.find(key);
    if (it == model_tensors.end() || src.sizes() == it->second.sizes()) continue;
    const at::Tensor& dest = it->second;
    const std::string was = shape_string(src.sizes());
    if (starts_with(key, head)) {
      report.reinitialised.push_back(key + " (file " + was + ", model " + shape_string(dest.sizes()) + ")");
      src = dest;
    } else if (key == first_conv && src.dim() == 4 && src.size(0) == dest.size(0) && src.size(2) == src.size(3) &&
               dest.size(2) == dest.size(3)) {
      if (src.size(2) != dest.size(2)) src = resize_patch_kernel(src, dest.size(2));
      if (src.size(1) != dest.size(1)) src = adapt_input_channels(src, dest.size(1));
      report.adapted.push_back(key + " " + was + " -> " + shape_string(dest.sizes()));
    } else if (ends_with(key, "pos_embedding") && src.dim() == 3 && src.size(0) == 1 && src.size(2) == dest.size(2)) {
      const auto new_grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(dest.size(1) - 1))));
      src = resize_pos_embedding(src, new_grid, options.pos_embedding_interpolation);
      report.adapted.push_back(key + " " + was + " -> " + shape_string(dest.sizes()) + " (" +
                               options.pos_embedding_interpolation + ")");
    }
  }
  io::LoadStateOptions load;
  load.target = "the " + model.name() + " model";
  load.hint = "check that the file was exported from the same torchvision architecture";
  load.may_be_missing = [](const std::string& key) { return ends_with(key, "num_batches_tracked"); };
  io::load_state(model, weights, /*strict=*/true, "models", load);
  for (const auto& line : report.renamed) spdlog::debug("models: renamed legacy key {}", line);
  for (const auto& line : report.adapted) spdlog::info("models: adapted {}", line);
  for (const auto& line : report.reinitialised) spdlog::info("models: re-initialised head {}", line);
  return report;
}

LoadReport load_weights(Classifier& model, const std::filesystem::path& path, const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw RunError("models: weight file '" + path.string() + "' does not exist; check the `pretrained` path");
  StateDict weights = io::read_safetensors(path);
  try {
    return load_state_dict(model, std::move(weights), options);
  } catch (const RunError& e) {
    throw RunError(std::string(e.what()) + " (file '" + path.string() + "')");
  }
}

}  // namespace frerec::models
