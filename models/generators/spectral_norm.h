// Spectral normalisation (Miyato et al. 2018), written here because LibTorch 1.13's C++
// frontend has no torch::nn::utils::spectral_norm.
//
// A weight W (any shape; viewed as the matrix W_mat = W.reshape(W.size(0), -1)) is used as
// W / σ(W), σ estimated by power iteration with persistent vectors u (rows) and v (columns),
// exactly as torch.nn.utils.spectral_norm(dim=0) does:
//   training: repeat `power_iterations` times  v = normalize(W_matᵀ u),  u = normalize(W_mat v)
//             (no gradient; u, v stored), then σ = uᵀ W_mat v with the gradient flowing
//             through W only (u, v are constants of the step);
//   eval:     σ from the stored u, v, no update.
// normalize(x) = x / max(‖x‖₂, eps), eps = 1e-12. u and v start as normalised N(0,1) draws
// from LibTorch's global generator (seed it before construction, as for the weights).
// Parameter and buffer names follow PyTorch's hook: `weight_orig`, `weight_u`, `weight_v`.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace frerec::generators {

// Holds W (registered as `weight_orig`) and the power-iteration vectors; weight() returns W/σ.
class SpectralNormImpl : public torch::nn::Module {
 public:
  SpectralNormImpl(at::Tensor weight, int power_iterations = 1, double eps = 1e-12);
  at::Tensor weight();  // W / σ; updates u, v when the module is training
  at::Tensor sigma();   // current estimate uᵀ W v (no update)

  at::Tensor weight_orig, weight_u, weight_v;

 private:
  int power_iterations_;
  double eps_;
};
TORCH_MODULE(SpectralNorm);

// Conv2d with a spectrally normalised kernel (`sn.weight_orig`, `bias`).
class SNConv2dImpl : public torch::nn::Module {
 public:
  SNConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding,
               bool bias = true);
  at::Tensor forward(const at::Tensor& x);
  SpectralNorm sn{nullptr};
  at::Tensor bias;

 private:
  int64_t stride_, padding_;
};
TORCH_MODULE(SNConv2d);

// Linear layer y = x (W/σ)ᵀ + b.
class SNLinearImpl : public torch::nn::Module {
 public:
  SNLinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  at::Tensor forward(const at::Tensor& x);
  SpectralNorm sn{nullptr};
  at::Tensor bias;
};
TORCH_MODULE(SNLinear);

// Class embedding table [num_classes, dim] normalised as a matrix (projection discriminator).
class SNEmbeddingImpl : public torch::nn::Module {
 public:
  SNEmbeddingImpl(int64_t num_classes, int64_t dim);
  at::Tensor forward(const at::Tensor& labels);  // int64 [N] → [N, dim]
  SpectralNorm sn{nullptr};
};
TORCH_MODULE(SNEmbedding);

}  // namespace frerec::generators
