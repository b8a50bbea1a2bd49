// Module state by name, and the one loader of named tensors into a module (classifier
// weights, generator files and training states, Restormer / auto-encoder weights and
// checkpoints). It reports what matched and what did not, and copies nothing when a strict
// load fails.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "framework/io/safetensors.h"

namespace torch::nn {
class Module;
}

namespace frerec::io {

using NamedTensors = std::map<std::string, at::Tensor>;

// Parameters and buffers by their dotted names (sorted). Tensors alias the module's.
NamedTensors named_state(const torch::nn::Module& module);
// Parameters and buffers in torch.nn.Module.state_dict() order: for each module (pre-order),
// its own parameters, then its own buffers, then its children. Tensors alias the module's.
StateDict state_dict(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> loaded;          // key copied (module order)
  std::vector<std::string> missing;         // in the module, not in the source (module order)
  std::vector<std::string> unexpected;      // in the source, not in the module (source order)
  std::vector<std::string> shape_mismatch;  // "key file [a,b] vs model [c,d]"
  bool complete() const { return missing.empty() && unexpected.empty() && shape_mismatch.empty(); }
  // "12 of 14 tensors match by name and shape; missing keys: a, b; unexpected keys: ...;
  // shape mismatches: ...", listing the first `max_listed` of each.
  std::string summary(std::size_t max_listed = 8) const;
};

struct LoadStateOptions {
  // Error text: "<source_name>: the weights do not fit <target> (<summary>); <hint>".
  std::string target = "the model";
  std::string hint;
  // Module keys that may be absent from the source; they keep the module's value and are
  // not reported (the classifiers: num_batches_tracked of pre-1.0 torchvision files).
  std::function<bool(const std::string& key)> may_be_missing;
};

// Copies every source tensor whose name and shape match into the module (converted to the
// module tensor's dtype and device). strict: any missing, unexpected or mismatching key
// throws RunError (text above) and nothing is changed; non-strict: matching keys only, the
// rest reported.
LoadReport load_state(torch::nn::Module& module, const StateDict& source, bool strict,
                      const std::string& source_name, const LoadStateOptions& options = {});
LoadReport load_state(torch::nn::Module& module, const NamedTensors& source, bool strict,
                      const std::string& source_name, const LoadStateOptions& options = {});

}  // namespace frerec::io
