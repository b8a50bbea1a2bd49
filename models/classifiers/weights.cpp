#include "models/classifiers/weights.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/nn/module.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "models/classifiers/classifier.h"
#include "models/classifiers/vit.h"

namespace frerec::models {

namespace {

void collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  for (const auto& child : module.named_children()) collect(*child.value(), prefix + child.key() + ".", out);
}

struct DtypeInfo {
  at::ScalarType type;
  size_t bytes;
};

bool dtype_from_name(const std::string& name, DtypeInfo& info) {
  static const std::map<std::string, DtypeInfo> table = {
      {"F32", {at::kFloat, 4}}, {"F64", {at::kDouble, 8}},  {"F16", {at::kHalf, 2}},
      {"BF16", {at::kBFloat16, 2}}, {"I64", {at::kLong, 8}}, {"I32", {at::kInt, 4}}};
  auto it = table.find(name);
  if (it == table.end()) return false;
  info = it->second;
  return true;
}

std::string shape_string(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "," : "") + std::to_string(sizes[i]);
  return s + "]";
}

std::string join_first(const std::vector<std::string>& items, size_t n) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < n; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > n) s += ", ... (" + std::to_string(items.size()) + " in all)";
  return s;
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

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

StateDict read_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RunError("models: cannot open weight file '" + path.string() + "'; check the `pretrained` path");
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  const std::string what = "models: weight file '" + path.string() + "' ";
  if (file_size < 8) throw RunError(what + "is too short to be a safetensors file");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8) {
    throw RunError(what + "is not a safetensors file (header length " + std::to_string(header_len) +
                   " exceeds the file size); write it with tools/export_torchvision_weights.py");
  }
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::ordered_json json;
  try {
    json = nlohmann::ordered_json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    throw RunError(what + "has an unreadable header (" + e.what() + "); write it with tools/export_torchvision_weights.py");
  }
  if (!json.is_object()) throw RunError(what + "has a header that is not a JSON object");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_size - data_start;
  StateDict out;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& entry = it.value();
    DtypeInfo info{};
    try {
      const std::string dtype = entry.at("dtype").get<std::string>();
      if (!dtype_from_name(dtype, info)) {
        throw RunError(what + "tensor '" + it.key() + "' has unsupported dtype " + dtype +
                       " (supported: F32, F64, F16, BF16, I64, I32)");
      }
      std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size) {
        throw RunError(what + "tensor '" + it.key() + "' has data_offsets outside the file");
      }
      uint64_t numel = 1;
      for (int64_t d : shape) {
        if (d < 0) throw RunError(what + "tensor '" + it.key() + "' has a negative dimension");
        numel *= static_cast<uint64_t>(d);
      }
      if (numel * info.bytes != offsets[1] - offsets[0]) {
        throw RunError(what + "tensor '" + it.key() + "' has " + std::to_string(offsets[1] - offsets[0]) +
                       " bytes but shape " + shape_string(shape) + " needs " + std::to_string(numel * info.bytes));
      }
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(info.type));
      in.seekg(static_cast<std::streamoff>(data_start + offsets[0]));
      in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(numel * info.bytes));
      if (!in) throw RunError(what + "is truncated while reading tensor '" + it.key() + "'");
      const bool integral = info.type == at::kLong || info.type == at::kInt;
      out.emplace_back(it.key(), t.to(integral ? at::kLong : at::kFloat));
    } catch (const nlohmann::json::exception& e) {
      throw RunError(what + "has a malformed entry for '" + it.key() + "' (" + e.what() + ")");
    }
  }
  return out;
}

void write_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [key, tensor] : tensors) {
    at::Tensor t = tensor.detach().to(at::kCPU);
    const bool integral = at::isIntegralType(t.scalar_type(), /*includeBool=*/true);
    t = t.to(integral ? at::kLong : at::kFloat).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[key] = {{"dtype", integral ? "I64" : "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(t);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data to 8 bytes
  std::string content(8, '\0');
  const uint64_t len = json.size();
  for (int i = 0; i < 8; ++i) content[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  content += json;
  content.reserve(content.size() + offset);
  for (const auto& t : contiguous) content.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, content);
}

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
  std::unordered_map<std::string, at::Tensor> given;
  for (auto& [key, tensor] : weights) {
    const std::string name = remap_legacy_key(key);
    if (name != key) report.renamed.push_back(key + " -> " + name);
    given[name] = tensor;
  }
  const StateDict target = state_dict(model);
  const std::string head = model.head_prefix();
  const std::string first_conv = model.first_conv_key();
  std::vector<std::string> missing, mismatched;
  std::set<std::string> used;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (destination, source)
  for (const auto& [key, dest] : target) {
    auto it = given.find(key);
    if (it == given.end()) {
      if (ends_with(key, "num_batches_tracked")) continue;
      missing.push_back(key);
      continue;
    }
    used.insert(key);
    at::Tensor src = it->second;
    if (src.sizes() != dest.sizes()) {
      const std::string was = shape_string(src.sizes());
      if (starts_with(key, head)) {
        report.reinitialised.push_back(key + " (file " + was + ", model " + shape_string(dest.sizes()) + ")");
        continue;
      }
      if (key == first_conv && src.dim() == 4 && src.size(0) == dest.size(0) && src.size(2) == src.size(3) &&
          dest.size(2) == dest.size(3)) {
        if (src.size(2) != dest.size(2)) src = resize_patch_kernel(src, dest.size(2));
        if (src.size(1) != dest.size(1)) src = adapt_input_channels(src, dest.size(1));
        report.adapted.push_back(key + " " + was + " -> " + shape_string(dest.sizes()));
      } else if (ends_with(key, "pos_embedding") && src.dim() == 3 && src.size(0) == 1 &&
                 src.size(2) == dest.size(2)) {
        const auto new_grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(dest.size(1) - 1))));
        src = resize_pos_embedding(src, new_grid, options.pos_embedding_interpolation);
        report.adapted.push_back(key + " " + was + " -> " + shape_string(dest.sizes()) + " (" +
                                 options.pos_embedding_interpolation + ")");
      }
      if (src.sizes() != dest.sizes()) {
        mismatched.push_back(key + " file " + was + " vs model " + shape_string(dest.sizes()));
        continue;
      }
    }
    copies.emplace_back(dest, src);
  }
  std::vector<std::string> unexpected;
  for (const auto& [key, tensor] : weights) {
    const std::string name = remap_legacy_key(key);
    if (!used.count(name)) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg = "models: the weights do not fit the " + model.name() + " model;";
    if (!missing.empty()) msg += " missing keys: " + join_first(missing, 5) + ";";
    if (!unexpected.empty()) msg += " unexpected keys: " + join_first(unexpected, 5) + ";";
    if (!mismatched.empty()) msg += " shape mismatches: " + join_first(mismatched, 5) + ";";
    msg += " check that the file was exported from the same torchvision architecture";
    throw RunError(msg);
  }
  at::NoGradGuard no_grad;
  for (auto& [dest, src] : copies) dest.copy_(src.to(dest.scalar_type()));
  for (const auto& line : report.renamed) spdlog::debug("models: renamed legacy key {}", line);
  for (const auto& line : report.adapted) spdlog::info("models: adapted {}", line);
  for (const auto& line : report.reinitialised) spdlog::info("models: re-initialised head {}", line);
  return report;
}

LoadReport load_weights(Classifier& model, const std::filesystem::path& path, const LoadOptions& options) {
  StateDict weights = read_safetensors(path);
  try {
    return load_state_dict(model, std::move(weights), options);
  } catch (const RunError& e) {
    throw RunError(std::string(e.what()) + " (file '" + path.string() + "')");
  }
}

}  // namespace frerec::models
