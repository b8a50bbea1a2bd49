// Named weights of restoration networks: loading by name with a report, and the simple HDF5
// weight format written by tools/export_restormer_weights.py (one dataset per state-dict key
// at the file root, e.g. "encoder_level1.0.attn.qkv.weight"; float32, or int64 for counters).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace frerec::restoration {

using NamedTensors = std::map<std::string, at::Tensor>;

struct WeightLoadReport {
  std::vector<std::string> loaded;          // key copied
  std::vector<std::string> missing;         // in the module, not in the source
  std::vector<std::string> unexpected;      // in the source, not in the module
  std::vector<std::string> shape_mismatch;  // "key: source [a,b] vs module [c,d]"
  std::string summary(std::size_t max_listed = 8) const;
};

// Parameters and buffers by their dotted names.
NamedTensors named_state(const torch::nn::Module& module);

// Copies every source tensor whose name and shape match. strict: any missing, unexpected or
// mismatching key throws RunError naming them (from `source`, e.g. the file) and nothing is
// changed; non-strict: matching keys only, the rest reported.
WeightLoadReport load_named_state(torch::nn::Module& module, const NamedTensors& source, bool strict,
                                  const std::string& source_name);

NamedTensors read_weights_h5(const std::filesystem::path& path);  // RunError if unreadable
void write_weights_h5(const torch::nn::Module& module, const std::filesystem::path& path);  // atomic

}  // namespace frerec::restoration
