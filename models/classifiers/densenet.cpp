#include "models/classifiers/densenet.h"

#include <torch/nn/functional/dropout.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

#include <string>

#include "models/classifiers/init.h"

namespace frerec::models {

namespace nn = torch::nn;

DenseNetConfig densenet121_config() { return DenseNetConfig{}; }

DenseNetConfig densenet_small_config() {
  DenseNetConfig c;
  c.growth_rate = 12;
  c.block_config = {4, 8, 12, 8};
  c.num_init_features = 64;
  c.bn_size = 4;
  return c;
}

DenseLayerImpl::DenseLayerImpl(int64_t num_input_features, int64_t growth_rate, int64_t bn_size, double drop_rate)
    : drop_rate_(drop_rate) {
  // Registration order (norm1, relu1, conv1, norm2, relu2, conv2) is torchvision's.
  norm1 = register_module("norm1", nn::BatchNorm2d(num_input_features));
  register_module("relu1", nn::ReLU(nn::ReLUOptions(true)));
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(num_input_features, bn_size * growth_rate, 1)
                                                  .stride(1).bias(false)));
  norm2 = register_module("norm2", nn::BatchNorm2d(bn_size * growth_rate));
  register_module("relu2", nn::ReLU(nn::ReLUOptions(true)));
  conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(bn_size * growth_rate, growth_rate, 3)
                                                  .stride(1).padding(1).bias(false)));
}

torch::Tensor DenseLayerImpl::forward(torch::Tensor x) {
  torch::Tensor out = conv1->forward(norm1->forward(x).relu_());
  out = conv2->forward(norm2->forward(out).relu_());
  if (drop_rate_ > 0.0) {
    out = nn::functional::dropout(out, nn::functional::DropoutFuncOptions().p(drop_rate_).training(is_training()));
  }
  return out;
}

DenseBlockImpl::DenseBlockImpl(int64_t num_layers, int64_t num_input_features, int64_t bn_size, int64_t growth_rate,
                               double drop_rate) {
  for (int64_t i = 0; i < num_layers; ++i) {
    layers_.push_back(register_module("denselayer" + std::to_string(i + 1),
                                      DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size,
                                                 drop_rate)));
  }
}

torch::Tensor DenseBlockImpl::forward(torch::Tensor x) {
  // As torchvision: keep every layer's output and concatenate them before each layer (a
  // chain of cat(all, new) gives the same values but measured a few % slower in training:
  // its backward accumulates full-width gradients at every step of the chain).
  std::vector<torch::Tensor> features{x};
  for (auto& layer : layers_) features.push_back(layer->forward(torch::cat(features, 1)));
  return torch::cat(features, 1);
}

TransitionImpl::TransitionImpl(int64_t num_input_features, int64_t num_output_features) {
  norm = register_module("norm", nn::BatchNorm2d(num_input_features));
  register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
  conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(num_input_features, num_output_features, 1)
                                                .stride(1).bias(false)));
  register_module("pool", nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
}

torch::Tensor TransitionImpl::forward(torch::Tensor x) {
  return torch::avg_pool2d(conv->forward(norm->forward(x).relu_()), {2, 2}, {2, 2});
}

DenseNetImpl::DenseNetImpl(const DenseNetConfig& config) : Classifier("DenseNet"), config_(config) {
  nn::Sequential features;
  features->push_back("conv0", nn::Conv2d(nn::Conv2dOptions(config.in_channels, config.num_init_features, 7)
                                              .stride(2).padding(3).bias(false)));
  features->push_back("norm0", nn::BatchNorm2d(config.num_init_features));
  features->push_back("relu0", nn::ReLU(nn::ReLUOptions(true)));
  features->push_back("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  int64_t num_features = config.num_init_features;
  for (size_t i = 0; i < config.block_config.size(); ++i) {
    const int64_t n = config.block_config[i];
    features->push_back("denseblock" + std::to_string(i + 1),
                        DenseBlock(n, num_features, config.bn_size, config.growth_rate, config.drop_rate));
    num_features += n * config.growth_rate;
    if (i + 1 != config.block_config.size()) {
      features->push_back("transition" + std::to_string(i + 1), Transition(num_features, num_features / 2));
      num_features /= 2;
    }
  }
  features->push_back("norm5", nn::BatchNorm2d(num_features));
  features_module = register_module("features", features);
  feature_dim_ = num_features;
  classifier = register_module("classifier", nn::Linear(num_features, config.num_classes));
  reset_parameters(config.seed);
}

torch::Tensor DenseNetImpl::features(torch::Tensor x) {
  check_input(x, config_.in_channels, "densenet");
  x = normalize_input(x);
  x = features_module->forward(x).relu_();
  return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
}

void DenseNetImpl::reset_parameters(uint64_t seed) {
  at::Generator gen = init::make_generator(seed);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2d>()) {
      init::kaiming_normal_relu(conv->weight, /*use_fan_out=*/false, gen);
    } else if (auto* bn = module->as<nn::BatchNorm2d>()) {
      init::constant(bn->weight, 1.0);
      init::constant(bn->bias, 0.0);
      bn->reset_running_stats();
    } else if (auto* linear = module->as<nn::Linear>()) {
      // torchvision leaves the weight at nn.Linear's default and zeroes the bias.
      init::linear_default(linear->weight, at::Tensor(), gen);
      init::constant(linear->bias, 0.0);
    }
  }
}

}  // namespace frerec::models
