// Weight files for the classifiers: torchvision state dicts stored as safetensors
// (framework/io/safetensors.h; tools/export_torchvision_weights.py writes them).
//
// Loading (load_weights) adapts a torchvision state dict to the model, logging each change:
//   * DenseNet legacy names "denselayerM.norm.1.weight" → "denselayerM.norm1.weight" (the
//     regex torchvision applies to its published files); ViT legacy "mlp.linear_1/2" →
//     "mlp.0/3".
//   * first convolution with other input channels: 3 → 1 sums the kernels over the input
//     channel axis (a grey image then gives what the RGB model gives on the image repeated
//     over R, G, B); 3 → C > 1 repeats the kernels cyclically and scales by 3/C (timm's
//     adapt_input_conv; the same invariance holds exactly when C is a multiple of 3).
//   * head with another number of classes: the model's freshly initialised head is kept
//     (log line "re-initialised").
//   * ViT: encoder.pos_embedding for another grid: class token kept, the grid of patch
//     positions resized by interpolation (bilinear by default, align_corners=True; bicubic
//     reproduces torchvision's interpolate_embeddings); conv_proj for another patch size:
//     kernel resized bilinearly and scaled by (old/new)² so the response to a flat patch is
//     unchanged (shared/DESIGN.md: our choice; FlexiViT's PI-resize would be more exact).
//   * missing BatchNorm num_batches_tracked buffers (pre-1.0 files) keep the model's value.
// Anything else that does not match — missing keys, unexpected keys, shape mismatches —
// throws RunError listing the first few of each (io::load_state, strict).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "framework/io/safetensors.h"

namespace frerec::models {

class Classifier;

// (torchvision key, tensor) in torchvision's state_dict() order.
using io::StateDict;

struct LoadOptions {
  std::string pos_embedding_interpolation = "bilinear";  // "bilinear" or "bicubic"
};

struct LoadReport {
  std::vector<std::string> renamed;        // "old -> new"
  std::vector<std::string> adapted;        // first conv, pos_embedding, patch kernel
  std::vector<std::string> reinitialised;  // head keys kept from the model's own init
};

// Copies `weights` into `model` with the adaptations above; throws RunError on a mismatch.
LoadReport load_state_dict(Classifier& model, StateDict weights, const LoadOptions& options = {});
// io::read_safetensors + load_state_dict; errors name the file.
LoadReport load_weights(Classifier& model, const std::filesystem::path& path, const LoadOptions& options = {});

// The legacy-name remapping alone (exposed for tests): returns the new key or the key itself.
std::string remap_legacy_key(const std::string& key);
// Resizes a ViT position embedding [1, 1 + g_old², D] to [1, 1 + g_new², D].
at::Tensor resize_pos_embedding(const at::Tensor& pos_embedding, int64_t new_grid, const std::string& mode);

}  // namespace frerec::models
