// DenseNet-BC (Huang et al. 2017) exactly as torchvision.models.densenet builds it: stem
// conv0/norm0/relu0/pool0, dense blocks of bottleneck layers (norm1, relu1, conv1 1×1 to
// bn_size·growth, norm2, relu2, conv2 3×3 to growth, dropout drop_rate), transitions
// (norm, relu, conv 1×1 halving the features, 2×2 average pool), features.norm5, then
// relu, global average pooling and `classifier`. State-dict names
// features.denseblockN.denselayerM.{norm1,conv1,norm2,conv2}, features.transitionN.{norm,conv}.
// Initialisation as torchvision: kaiming_normal (fan_in) convs, BN 1/0, Linear bias 0.
//
// densenet121: growth 32, blocks (6,12,24,16), 64 initial features, bn_size 4
//              (7,978,856 parameters for 3 channels, 1000 classes).
// densenet_small (our CPU variant, not in torchvision): growth 12, blocks (4,8,12,8),
//              64 initial features, bn_size 4 — 630,500 parameters for 3 channels and
//              1000 classes, 423,914 for 3 channels and 2 classes; feature dim 206.
// Inputs must be at least 32×32 (the stem and three transitions divide the size by 32).
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "models/classifiers/classifier.h"

namespace frerec::models {

struct DenseNetConfig {
  int64_t growth_rate = 32;
  std::vector<int64_t> block_config{6, 12, 24, 16};
  int64_t num_init_features = 64;
  int64_t bn_size = 4;
  double drop_rate = 0.0;
  int64_t in_channels = 3;
  int64_t num_classes = 1000;
  uint64_t seed = 0;
};

DenseNetConfig densenet121_config();
DenseNetConfig densenet_small_config();

class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int64_t num_input_features, int64_t growth_rate, int64_t bn_size, double drop_rate);
  torch::Tensor forward(torch::Tensor x);  // x: concatenation of all previous features

  torch::nn::BatchNorm2d norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};

 private:
  double drop_rate_;
};
TORCH_MODULE(DenseLayer);

class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t num_layers, int64_t num_input_features, int64_t bn_size, int64_t growth_rate,
                 double drop_rate);
  torch::Tensor forward(torch::Tensor x);

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

// norm, relu, 1×1 conv, 2×2 average pool (torchvision's _Transition, a Sequential there;
// LibTorch cannot nest a Sequential inside a Sequential, so its forward is written out).
class TransitionImpl : public torch::nn::Module {
 public:
  TransitionImpl(int64_t num_input_features, int64_t num_output_features);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::BatchNorm2d norm{nullptr};
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Transition);

class DenseNetImpl : public Classifier {
 public:
  explicit DenseNetImpl(const DenseNetConfig& config);

  torch::Tensor features(torch::Tensor x) override;
  torch::Tensor head(torch::Tensor features) override { return classifier->forward(features); }
  int64_t feature_dim() const override { return feature_dim_; }
  int64_t num_classes() const override { return config_.num_classes; }
  int64_t in_channels() const override { return config_.in_channels; }
  void reset_parameters(uint64_t seed) override;
  std::string first_conv_key() const override { return "features.conv0.weight"; }
  std::string head_prefix() const override { return "classifier."; }

  // Named `features` in torchvision; the C++ member is features_module because features()
  // is the interface method.
  torch::nn::Sequential features_module{nullptr};
  torch::nn::Linear classifier{nullptr};

 private:
  DenseNetConfig config_;
  int64_t feature_dim_ = 0;
};
TORCH_MODULE(DenseNet);

}  // namespace frerec::models
