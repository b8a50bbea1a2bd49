#include "models/classifiers/resnet.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>

#include "models/classifiers/init.h"

namespace frerec::models {

namespace nn = torch::nn;

ResNetConfig resnet18_config() {
  ResNetConfig c;
  c.bottleneck = false;
  c.layers = {2, 2, 2, 2};
  return c;
}

ResNetConfig resnet50_config() {
  ResNetConfig c;
  c.bottleneck = true;
  c.layers = {3, 4, 6, 3};
  return c;
}

namespace {
nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}
nn::Conv2d conv1x1(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
}
}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride, nn::Sequential downsample_in) {
  conv1 = register_module("conv1", conv3x3(inplanes, planes, stride));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  if (downsample_in) downsample = register_module("downsample", downsample_in);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  // In-place ReLU and residual add, as torchvision (saves allocations in training).
  torch::Tensor out = bn1->forward(conv1->forward(x)).relu_();
  out = bn2->forward(conv2->forward(out));
  return out.add_(identity).relu_();
}

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, nn::Sequential downsample_in) {
  // torchvision: width = planes * (base_width / 64) * groups = planes for the standard nets.
  conv1 = register_module("conv1", conv1x1(inplanes, planes));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv3x3(planes, planes, stride));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", conv1x1(planes, planes * kExpansion));
  bn3 = register_module("bn3", nn::BatchNorm2d(planes * kExpansion));
  if (downsample_in) downsample = register_module("downsample", downsample_in);
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out = bn1->forward(conv1->forward(x)).relu_();
  out = bn2->forward(conv2->forward(out)).relu_();
  out = bn3->forward(conv3->forward(out));
  return out.add_(identity).relu_();
}

ResNetImpl::ResNetImpl(const ResNetConfig& config) : Classifier("ResNet"), config_(config) {
  conv1 = register_module("conv1",
                          nn::Conv2d(nn::Conv2dOptions(config.in_channels, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(64));
  maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  layer1 = register_module("layer1", make_layer(64, config.layers[0], 1));
  layer2 = register_module("layer2", make_layer(128, config.layers[1], 2));
  layer3 = register_module("layer3", make_layer(256, config.layers[2], 2));
  layer4 = register_module("layer4", make_layer(512, config.layers[3], 2));
  feature_dim_ = 512 * (config.bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion);
  fc = register_module("fc", nn::Linear(feature_dim_, config.num_classes));
  reset_parameters(config.seed);
}

nn::Sequential ResNetImpl::make_layer(int64_t planes, int64_t blocks, int64_t stride) {
  const int64_t expansion = config_.bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion;
  nn::Sequential downsample{nullptr};
  if (stride != 1 || inplanes_ != planes * expansion) {
    downsample = nn::Sequential(conv1x1(inplanes_, planes * expansion, stride), nn::BatchNorm2d(planes * expansion));
  }
  nn::Sequential layer;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t s = b == 0 ? stride : 1;
    nn::Sequential ds = b == 0 ? downsample : nn::Sequential{nullptr};
    if (config_.bottleneck) {
      layer->push_back(Bottleneck(inplanes_, planes, s, ds));
    } else {
      layer->push_back(BasicBlock(inplanes_, planes, s, ds));
    }
    inplanes_ = planes * expansion;
  }
  return layer;
}

torch::Tensor ResNetImpl::features(torch::Tensor x) {
  check_input(x, config_.in_channels, "resnet");
  x = normalize_input(x);
  x = maxpool->forward(bn1->forward(conv1->forward(x)).relu_());
  x = layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
  return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
}

void ResNetImpl::reset_parameters(uint64_t seed) {
  at::Generator gen = init::make_generator(seed);
  // torchvision: nn.Linear is constructed (and default-initialised) before the loop that
  // re-initialises convolutions and norms; the draw order here follows the module order.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2d>()) {
      init::kaiming_normal_relu(conv->weight, /*use_fan_out=*/true, gen);
    } else if (auto* bn = module->as<nn::BatchNorm2d>()) {
      init::constant(bn->weight, 1.0);
      init::constant(bn->bias, 0.0);
      bn->reset_running_stats();
    } else if (auto* linear = module->as<nn::Linear>()) {
      init::linear_default(linear->weight, linear->bias, gen);
    }
  }
}

}  // namespace frerec::models
