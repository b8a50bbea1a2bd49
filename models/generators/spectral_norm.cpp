#include "models/generators/spectral_norm.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "framework/core/error.h"

namespace frerec::generators {
namespace {

at::Tensor normalized(const at::Tensor& x, double eps) { return x / at::clamp_min(x.norm(), eps); }

// DCGAN / FastGAN initialisation of convolution and linear weights: N(0, 0.02).
at::Tensor normal_weight(at::IntArrayRef shape) {
  at::Tensor w = at::empty(shape, at::kFloat);
  torch::nn::init::normal_(w, 0.0, 0.02);
  return w;
}

}  // namespace

SpectralNormImpl::SpectralNormImpl(at::Tensor weight, int power_iterations, double eps)
    : power_iterations_(power_iterations), eps_(eps) {
  FREREC_ASSERT(weight.dim() >= 2, "spectral norm needs a weight with at least two dimensions");
  FREREC_ASSERT(power_iterations >= 1, "spectral norm needs at least one power iteration");
  const int64_t rows = weight.size(0);
  const int64_t cols = weight.numel() / rows;
  weight_orig = register_parameter("weight_orig", weight);
  weight_u = register_buffer("weight_u", normalized(at::randn({rows}, weight.options()), eps_));
  weight_v = register_buffer("weight_v", normalized(at::randn({cols}, weight.options()), eps_));
}

at::Tensor SpectralNormImpl::weight() {
  const at::Tensor matrix = weight_orig.reshape({weight_orig.size(0), -1});
  if (is_training()) {
    at::NoGradGuard no_grad;
    at::Tensor u = weight_u, v = weight_v;
    for (int i = 0; i < power_iterations_; ++i) {
      v = normalized(at::mv(matrix.t(), u), eps_);
      u = normalized(at::mv(matrix, v), eps_);
    }
    weight_u.copy_(u);
    weight_v.copy_(v);
  }
  // Clones: the stored vectors are updated in place by the next training step, while this
  // step's graph may still need them for backward.
  const at::Tensor u = weight_u.clone(), v = weight_v.clone();
  const at::Tensor sigma = at::dot(u, at::mv(matrix, v));
  return weight_orig / sigma;
}

at::Tensor SpectralNormImpl::sigma() {
  at::NoGradGuard no_grad;
  const at::Tensor matrix = weight_orig.reshape({weight_orig.size(0), -1});
  return at::dot(weight_u, at::mv(matrix, weight_v));
}

SNConv2dImpl::SNConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding,
                           bool with_bias)
    : stride_(stride), padding_(padding) {
  sn = register_module("sn", SpectralNorm(normal_weight({out_channels, in_channels, kernel, kernel})));
  if (with_bias) bias = register_parameter("bias", at::zeros({out_channels}));
}

at::Tensor SNConv2dImpl::forward(const at::Tensor& x) {
  return at::conv2d(x, sn->weight(), bias, {stride_, stride_}, {padding_, padding_});
}

SNLinearImpl::SNLinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  sn = register_module("sn", SpectralNorm(normal_weight({out_features, in_features})));
  if (with_bias) bias = register_parameter("bias", at::zeros({out_features}));
}

at::Tensor SNLinearImpl::forward(const at::Tensor& x) { return at::linear(x, sn->weight(), bias); }

SNEmbeddingImpl::SNEmbeddingImpl(int64_t num_classes, int64_t dim) {
  sn = register_module("sn", SpectralNorm(normal_weight({num_classes, dim})));
}

at::Tensor SNEmbeddingImpl::forward(const at::Tensor& labels) { return at::embedding(sn->weight(), labels); }

}  // namespace frerec::generators
