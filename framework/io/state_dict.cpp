#include "framework/io/state_dict.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <unordered_map>

#include "framework/core/error.h"

namespace frerec::io {

namespace {

void collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  for (const auto& child : module.named_children()) collect(*child.value(), prefix + child.key() + ".", out);
}

std::string shape_string(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "," : "") + std::to_string(sizes[i]);
  return s + "]";
}

}  // namespace

NamedTensors named_state(const torch::nn::Module& module) {
  NamedTensors state;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) state[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true)) state[item.key()] = item.value();
  return state;
}

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

std::string LoadReport::summary(std::size_t max_listed) const {
  std::string out = std::to_string(loaded.size()) + " of " +
                    std::to_string(loaded.size() + missing.size() + shape_mismatch.size()) +
                    " tensors match by name and shape";
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    out += std::string("; ") + what + ": ";
    for (std::size_t i = 0; i < keys.size() && i < max_listed; ++i) out += (i ? ", " : "") + keys[i];
    if (keys.size() > max_listed) out += ", ... (" + std::to_string(keys.size()) + " in all)";
  };
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("shape mismatches", shape_mismatch);
  return out;
}

LoadReport load_state(torch::nn::Module& module, const StateDict& source, bool strict,
                      const std::string& source_name, const LoadStateOptions& options) {
  LoadReport report;
  std::unordered_map<std::string, const at::Tensor*> given;
  for (const auto& [key, tensor] : source) given[key] = &tensor;
  const StateDict target = state_dict(module);
  std::unordered_map<std::string, bool> in_module;
  std::vector<std::pair<at::Tensor, const at::Tensor*>> copies;  // (destination, source)
  for (const auto& [key, dest] : target) {
    in_module[key] = true;
    const auto it = given.find(key);
    if (it == given.end()) {
      if (!(options.may_be_missing && options.may_be_missing(key))) report.missing.push_back(key);
    } else if (!it->second->sizes().equals(dest.sizes())) {
      report.shape_mismatch.push_back(key + " file " + shape_string(it->second->sizes()) + " vs model " +
                                      shape_string(dest.sizes()));
    } else {
      report.loaded.push_back(key);
      copies.emplace_back(dest, it->second);
    }
  }
  for (const auto& [key, tensor] : source)
    if (!in_module.count(key)) report.unexpected.push_back(key);
  if (strict && !report.complete()) {
    throw RunError(source_name + ": the weights do not fit " + options.target + " (" + report.summary() + ")" +
                   (options.hint.empty() ? "" : "; " + options.hint));
  }
  at::NoGradGuard no_grad;
  for (auto& [dest, src] : copies) dest.copy_(src->to(dest.device(), dest.scalar_type()));
  return report;
}

LoadReport load_state(torch::nn::Module& module, const NamedTensors& source, bool strict,
                      const std::string& source_name, const LoadStateOptions& options) {
  return load_state(module, StateDict(source.begin(), source.end()), strict, source_name, options);
}

}  // namespace frerec::io
