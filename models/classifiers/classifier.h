// The Classifier interface (shared/STYLE.md §2) shared by every backbone of models/classifiers.
//
// A Classifier is a torch::nn::Module whose state dict has exactly torchvision's names, so
// torchvision weights load without renaming (models/classifiers/weights.h). Tensors are
// float32 [N, C, H, W] batches (shared/DESIGN.md §3); logits are [N, num_classes] and
// features() is the penultimate representation [N, feature_dim()] the head consumes
// (pooled CNN features, the ViT class token after the final LayerNorm) — the vector used
// for t-SNE and Fréchet distances.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace frerec::models {

class Classifier : public torch::nn::Module {
 public:
  explicit Classifier(std::string name) : torch::nn::Module(std::move(name)) {}

  // Logits [N, num_classes] = head(features(x)).
  virtual torch::Tensor forward(torch::Tensor x) { return head(features(x)); }
  // Penultimate features [N, feature_dim()].
  virtual torch::Tensor features(torch::Tensor x) = 0;
  // The classification head alone: features [N, feature_dim()] -> logits [N, num_classes].
  virtual torch::Tensor head(torch::Tensor features) = 0;

  virtual int64_t feature_dim() const = 0;
  virtual int64_t num_classes() const = 0;
  virtual int64_t in_channels() const = 0;

  // Re-initialises every parameter and buffer exactly as torchvision's constructor does,
  // drawing from a generator seeded with `seed` (never the global RNG).
  virtual void reset_parameters(uint64_t seed) = 0;

  // State-dict names the weight loader adapts (weights.h): the first convolution's weight
  // (summed or repeated over input channels) and the head's prefix (re-initialised when
  // the number of classes differs), e.g. "conv1.weight" and "fc.".
  virtual std::string first_conv_key() const = 0;
  virtual std::string head_prefix() const = 0;

  // Input normalisation that features() applies first: (x − mean[c]) / std[c] per channel.
  // Empty (the default) leaves the [0, 1] images as they are. Not part of the state dict.
  void set_input_normalization(std::vector<double> mean, std::vector<double> std);
  const std::vector<double>& input_mean() const { return input_mean_; }
  const std::vector<double>& input_std() const { return input_std_; }

 protected:
  torch::Tensor normalize_input(const torch::Tensor& x) const;

 private:
  std::vector<double> input_mean_, input_std_;
};

// ImageNet statistics (torchvision's weights' transforms) for `channels` input channels: 3 →
// (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225); 1 → their channel means (0.449, 0.226), which
// the grey model (first-conv kernels summed over R, G, B, weights.h) sees as the RGB model sees
// the grey image repeated over R, G, B up to the spread of the three statistics; other C →
// the three repeated cyclically, as the weight loader repeats the kernels.
std::pair<std::vector<double>, std::vector<double>> imagenet_statistics(int64_t channels);

// Number of scalar parameters (trainable or not; buffers excluded), as torchvision counts.
int64_t count_parameters(const torch::nn::Module& module);

// Checks a batch before a forward pass: 4-D with `in_channels` channels; throws RunError
// naming the component and the shape otherwise.
void check_input(const torch::Tensor& x, int64_t in_channels, const std::string& component);

}  // namespace frerec::models
