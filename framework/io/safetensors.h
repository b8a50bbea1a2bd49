// Weight files: safetensors, the one format for weights we ship or export (classifiers,
// generators, Restormer / auto-encoder initialisation).
//
// File format: safetensors (huggingface/safetensors), chosen because it is documented,
// tiny to read and write without any library, and readable from Python with or without
// the `safetensors` package:
//   8 bytes   little-endian uint64 N = length of the JSON header
//   N bytes   UTF-8 JSON: {"<key>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
//             optional "__metadata__": {string: string}}; may be padded with spaces
//   rest      the raw little-endian tensor bytes; data_offsets are relative to its start
// dtypes read: F32, F64, F16, BF16 (converted to float32) and I64, I32 (converted to int64,
// e.g. BatchNorm's num_batches_tracked). tools/export_torchvision_weights.py and
// tools/export_restormer_weights.py write it.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace frerec::io {

// An ordered state dict: (key, tensor) pairs, e.g. in torch.nn.Module.state_dict() order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

// Every tensor in file order (float32 or int64); RunError naming the file when it is
// missing, not safetensors, or inconsistent (offsets, sizes, dtypes).
StateDict read_safetensors(const std::filesystem::path& path);
// The __metadata__ block alone (empty when absent); RunError as read_safetensors.
std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& path);
// Writes float32 / int64 tensors (others are converted to float32) atomically.
void write_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace frerec::io
