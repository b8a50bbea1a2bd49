// Restormer (Zamir et al., CVPR 2022) and the FreRec denoising auto-encoder backbone
// (paper "Reconstructive High-Frequency Mapping", Fig. 4, Eq. 4-6; shared/DESIGN.md §4 "RHM").
//
// Tensors are [N,C,H,W] float32 in [0,1]; the network needs H and W divisible by 8
// (three 2x downsamplings); RHM inference (augmentations/frerec/rhm.h, DaeModel::restore)
// pads (reflect) and crops back.
//
// One network class serves both registered models:
//   * `restormer`  — the official architecture (shared/REFERENCE.md "Restormer"): MDTA + GDFN
//     blocks, defaults dim 48, blocks [4,6,6,8], 4 refinement blocks, heads [1,2,4,8],
//     GDFN factor 2.66, no conv bias, WithBias LayerNorm. 26,126,644 parameters
//     (BiasFree: 26,111,668). Parameter names follow the official module tree
//     (patch_embed.proj, encoder_level1.0.norm1.body.weight, ..attn.temperature, ..attn.qkv,
//     ..attn.qkv_dwconv, ..attn.project_out, ..ffn.project_in/dwconv/project_out,
//     down1_2.body.0, up4_3.body.0, reduce_chan_level3/2, decoder_level1, refinement, output),
//     so an official checkpoint's `params` dict loads by name.
//   * `frerec_dae` — the paper's backbone: blocks [2,4,6,8], 2 refinement blocks, FET blocks
//     (FESA + GDFN, models/restoration/fesa.h). `fesa: false` gives plain Restormer blocks.
//
// Decisions where the paper is silent (listed for DESIGN.md §4):
//   * FET block = x + ReLU-BN-Conv1x1( MDTA(LN(x)) || FreqBranch(LN(x)) ), then x + GDFN(LN(x)).
//     The "F_rgb +" of Eq. 6 is read as the block's pre-norm residual (the identity path
//     carries the un-normalised block input, as in Restormer); adding the layer-normed
//     feature as well would double the identity path in every block.
//   * In a FET block the MDTA module keeps the name `attn` and the new modules are `freq` and
//     `fuse` (fuse.0 conv 2C->C without bias, fuse.1 BatchNorm2d, fuse.2 ReLU), so every
//     official Restormer key still matches a FET network of the same widths.
//   * Weights are initialised like PyTorch's defaults (conv: U(±1/sqrt(fan_in)) for weight
//     and bias; norms 1/0; temperature 1) but drawn from a generator seeded explicitly
//     (initialize_parameters), never from the global RNG. Exception: the BatchNorm γ of each FET
//     `fuse` starts small (kFuseBatchNormGamma = 0.01, β = 0), so a fresh FET block is close to
//     the identity plus GDFN. With γ = 1 the ReLU-BN output (unit variance at every block)
//     swamps the image at initialisation and train-mode (batch statistics) and eval-mode
//     (running statistics) outputs differ wildly. Why not γ = 0 (zero_init_residual): the
//     BN output is then exactly 0, the ReLU passes no gradient at 0, and the fuse conv, BN,
//     MDTA, the frequency branch and norm1 of every FET block get exactly zero gradient
//     forever — an attention-free network. A small γ keeps every one of them a live gradient
//     (scaled by γ, which Adam's per-parameter normalisation undoes) while the branch's
//     contribution, and the train/eval gap, start 100× smaller than with γ = 1.
//   * `patch_embed.proj` never has a bias, whatever `bias` says: the official network builds
//     OverlapPatchEmbed without the flag (its `output` conv and the 1×1 convolutions do follow
//     `bias`), so official checkpoints made with bias=True load strictly.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>
#include <string>

#include "framework/config/schema.h"
#include "framework/core/registry.h"
#include "models/restoration/fesa.h"

namespace frerec::restoration {

struct RestormerOptions {
  int in_channels = 3;
  int out_channels = 3;
  int dim = 48;
  std::array<int, 4> num_blocks{4, 6, 6, 8};
  int num_refinement_blocks = 4;
  std::array<int, 4> heads{1, 2, 4, 8};
  double ffn_expansion_factor = 2.66;
  bool bias = false;
  std::string layernorm = "WithBias";  // WithBias | BiasFree
  bool fesa = false;                   // FET blocks (FESA + GDFN) instead of MDTA + GDFN
  int ring_width = 2;                  // FESA polar pooling: ring width d (pixels of radius)
  int angular_bins = 32;               // FESA polar pooling: P angular bins

  // Throws ConfigError naming `component`, the key, the value and the fix.
  void validate(const std::string& component) const;
  // Canonical YAML text (checkpoints, cache keys); parse_options() reads it back.
  std::string to_yaml() const;
  static RestormerOptions from_yaml(const std::string& text);
};

RestormerOptions official_restormer_options();  // the `restormer` defaults
RestormerOptions paper_dae_options();           // the `frerec_dae` defaults (dim 48, [2,4,6,8], 2, FESA)
RestormerOptions cpu_dae_options();             // recommended CPU config (dim 16, [1,1,2,2], 1, heads [1,2,4,8])
RestormerOptions demo_dae_options();            // demo benchmark at 64² (dim 16, [1,1,1,1], 0; configs/base/demo_frerec.yaml)

// Schemas of the two registered models and the conversion of validated params.
config::Schema restormer_schema();
config::Schema frerec_dae_schema();
RestormerOptions restormer_options_from(const config::Params& params, const RestormerOptions& defaults);

// Per-pixel LayerNorm over channels; `body` holds weight (and bias) like the official module.
class LayerNormBodyImpl : public torch::nn::Module {
 public:
  LayerNormBodyImpl(int64_t channels, bool with_bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
 private:
  bool with_bias_;
};
TORCH_MODULE(LayerNormBody);

class LayerNorm2dImpl : public torch::nn::Module {
 public:
  LayerNorm2dImpl(int64_t channels, const std::string& type);
  torch::Tensor forward(const torch::Tensor& x) { return body->forward(x); }
  LayerNormBody body{nullptr};
};
TORCH_MODULE(LayerNorm2d);

// MDTA: multi-Dconv head transposed attention (Eq. 4).
class MdtaImpl : public torch::nn::Module {
 public:
  MdtaImpl(int64_t dim, int64_t heads, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor temperature;
  torch::nn::Conv2d qkv{nullptr}, qkv_dwconv{nullptr}, project_out{nullptr};
 private:
  int64_t heads_;
};
TORCH_MODULE(Mdta);

// GDFN: gated-Dconv feed-forward network.
class GdfnImpl : public torch::nn::Module {
 public:
  GdfnImpl(int64_t dim, double expansion_factor, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d project_in{nullptr}, dwconv{nullptr}, project_out{nullptr};
};
TORCH_MODULE(Gdfn);

// Restormer block (fesa=false) or FET block (fesa=true).
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t dim, int64_t heads, const RestormerOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  LayerNorm2d norm1{nullptr}, norm2{nullptr};
  Mdta attn{nullptr};
  FrequencyBranch freq{nullptr};       // FET only
  torch::nn::Sequential fuse{nullptr};  // FET only
  Gdfn ffn{nullptr};
};
TORCH_MODULE(TransformerBlock);

class RestormerImpl : public torch::nn::Module {
 public:
  explicit RestormerImpl(const RestormerOptions& options);
  // x: [N,in_channels,H,W] with H, W divisible by 8 (throws RunError otherwise).
  torch::Tensor forward(const torch::Tensor& x);
  const RestormerOptions& options() const { return options_; }

 private:
  RestormerOptions options_;
  torch::nn::Conv2d patch_embed_proj_{nullptr};
  torch::nn::Sequential encoder_level1_{nullptr}, encoder_level2_{nullptr}, encoder_level3_{nullptr}, latent_{nullptr};
  torch::nn::Sequential decoder_level3_{nullptr}, decoder_level2_{nullptr}, decoder_level1_{nullptr}, refinement_{nullptr};
  torch::nn::Sequential down1_2_{nullptr}, down2_3_{nullptr}, down3_4_{nullptr};
  torch::nn::Sequential up4_3_{nullptr}, up3_2_{nullptr}, up2_1_{nullptr};
  torch::nn::Conv2d reduce_chan_level3_{nullptr}, reduce_chan_level2_{nullptr}, output_{nullptr};
};
TORCH_MODULE(Restormer);

// BatchNorm γ of every FET `fuse` at initialisation (see the header comment above).
constexpr double kFuseBatchNormGamma = 0.01;

// PyTorch-default initialisation drawn from a generator seeded with `seed` (no global RNG).
void initialize_parameters(torch::nn::Module& module, std::uint64_t seed);
std::int64_t count_parameters(const torch::nn::Module& module);
inline std::int64_t count_parameters(const Restormer& net) { return count_parameters(*net); }

// Analytic cost of one forward pass on an H x W image (multiply-accumulates).
struct ForwardCost {
  double conv_macs = 0;       // every convolution (incl. 1x1, depthwise, FESA convs)
  double attention_macs = 0;  // MDTA q·kᵀ and attn·v
  double fft_flops = 0;       // FESA FFTs, 5·n·log2(n) real flops per complex 2-D transform
  double total_flops() const { return 2 * (conv_macs + attention_macs) + fft_flops; }
};
ForwardCost forward_cost(const RestormerOptions& options, int height, int width);

// The models registry (kind "models"); filled by register_restoration().
Registry<Restormer>& restoration_model_registry();

}  // namespace frerec::restoration
