// ResNet (He et al. 2016) exactly as torchvision.models.resnet builds it: "v1.5"
// bottlenecks (stride on the 3×3 conv), expansion 4, BasicBlock for resnet18/34, the same
// module tree and state-dict names (conv1, bn1, layerL.B.{conv,bn}{1,2,3},
// layerL.0.downsample.{0,1}, fc) and the same initialisation (kaiming_normal fan_out for
// convolutions, BN weight 1 / bias 0, nn.Linear's default for fc, zero_init_residual off).
// Parameter counts for 3 channels and 1000 classes: resnet18 11,689,512; resnet50 25,557,032.
// in_channels and num_classes are free; any input of at least 32×32 works (global pooling).
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <array>

#include "models/classifiers/classifier.h"

namespace frerec::models {

struct ResNetConfig {
  bool bottleneck = true;                  // Bottleneck (resnet50) or BasicBlock (resnet18)
  std::array<int64_t, 4> layers{3, 4, 6, 3};
  int64_t in_channels = 3;
  int64_t num_classes = 1000;
  uint64_t seed = 0;                       // initialisation seed
};

ResNetConfig resnet18_config();
ResNetConfig resnet50_config();

class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride, torch::nn::Sequential downsample);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, torch::nn::Sequential downsample);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

class ResNetImpl : public Classifier {
 public:
  explicit ResNetImpl(const ResNetConfig& config);

  torch::Tensor features(torch::Tensor x) override;
  torch::Tensor head(torch::Tensor features) override { return fc->forward(features); }
  int64_t feature_dim() const override { return feature_dim_; }
  int64_t num_classes() const override { return config_.num_classes; }
  int64_t in_channels() const override { return config_.in_channels; }
  void reset_parameters(uint64_t seed) override;
  std::string first_conv_key() const override { return "conv1.weight"; }
  std::string head_prefix() const override { return "fc."; }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  torch::nn::Sequential make_layer(int64_t planes, int64_t blocks, int64_t stride);

  ResNetConfig config_;
  int64_t inplanes_ = 64;
  int64_t feature_dim_ = 0;
};
TORCH_MODULE(ResNet);

}  // namespace frerec::models
