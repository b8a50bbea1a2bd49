// A lightweight class-conditional GAN for the demo benchmark's synthetic pool:
// a trimmed FastGAN generator (Liu et al. 2021, "Towards faster and stabilized GAN
// training for high-fidelity few-shot image synthesis") and a projection discriminator
// (Miyato & Koyama 2018) with spectral normalisation. Images are [N,C,S,S] in [-1,1] inside
// the networks (tanh output); the framework's [0,1] images are mapped x ↦ 2x − 1.
//
// Generator (FastGAN family, trimmed for 32–256 px on a CPU):
//   h = [z ‖ E_g(y)]  (z ∈ R^z_dim ~ N(0,I), E_g a class embedding of embed_dim)
//   feat4  = GLU(CBN(ConvT4×4(h)))                                  [c(4), 4, 4]
//   feat2r = GLU(CBN(Conv3×3(Up2(feat_r)) + w·n))  for r = 4 … S/2    (FastGAN's UpBlock
//            with its NoiseInjection: n ~ N(0,1) one map [N,1,2r,2r] per block, w a learned
//            scalar starting at 0; g_noise: 0 leaves it out)
//   feat_r ← feat_r · SLE(feat_{r/8})        for r ≥ 32               (skip-layer excitation:
//            AdaptivePool4 → Conv4×4 → Swish → Conv1×1 → Sigmoid, a channel gate)
//   x = tanh(Conv3×3(feat_S))
//   c(r) = min(g_max_width, g_width · S / r): g_width channels at the output, doubling per
//   halving of the resolution. CBN = BatchNorm without affine + per-class gain and bias
//   (conditional BN, init 1 and 0) + gain and bias linear in z (self-modulation, g_zmod):
//   class and latent enter through the input and every normalisation layer. Without the
//   z path every configuration we tried collapsed to one image per class within a few
//   hundred steps on the demo data (models/generators/README.md).
// Discriminator (FastGAN's DownBlockComp without BatchNorm, spectral norm everywhere):
//   block(x) = LReLU(SNConv3×3(LReLU(SNConv4×4/2(x)))) + LReLU(SNConv1×1(AvgPool2(x)))
//   from S down to 4×4, widths d_width · 2^k capped at d_max_width (the two paths are
//   summed, not averaged as in FastGAN: without BatchNorm the halving per block left the
//   spectrally normalised D unable to move its logits off 0); then at 4×4 the minibatch
//   standard deviation (Karras et al. 2018; groups of d_mbstd_group consecutive images, one
//   extra channel) and LReLU(SNConv3×3); φ = Σ_{x,y} features,
//   D(x, y) = SNLinear(φ) + ⟨SNEmbed(y), φ⟩   (projection).
// Class critic (our addition, generator.class_weight): a small CNN classifier trained on the
//   real training images before the GAN and then frozen; G's loss adds its cross-entropy on
//   G's (DiffAugmented) images, so positives must show the class evidence. The demo's class
//   evidence is a small lesion: with projection conditioning alone, and with an AC-GAN head
//   on D (plain or spectrally normalised), every pilot drew the same image for both classes
//   and D's class head stayed at ln 2 for 600 steps (models/generators/README.md).
//   critic(x) = Linear([GlobalMaxPool(f) ‖ GlobalAvgPool(f)]),
//   f = B(B(B(B(x, w, 2), 2w, 2), 4w, 2), 4w, 1), B(x, c, s) = ReLU(BN(Conv3×3 stride s(x))),
//   w = 16 (≈ 5 M multiply-adds per 64² image, so it adds little to a G step); max pooling
//   for local evidence (a lesion), average pooling for global evidence (an enlarged heart:
//   with max pooling alone the demo_cxr critic stayed at chance).
//   FastGAN's self-supervised reconstruction decoders are left out (CPU budget); DiffAugment
//   (diff_augment.h) carries the small-data regularisation instead.
// Why this family and not a DCGAN: the paper's generators are FastGAN, StyleGAN3 and a
// diffusion model; nearest upsampling + 3×3 conv avoids the transposed-convolution
// checkerboard that would make the demo's spectral bias an artefact of the architecture
// choice alone. Parameter counts (g_width 16, d_width 32, caps 256, z 64, embed 32):
// see models/generators/README.md (also printed by `frerec info generators fastgan_lite`).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/generators/spectral_norm.h"

namespace frerec::generators {

// Everything that fixes the tensor shapes of G and D.
struct GanArchitecture {
  int image_size = 64;   // S: 32, 64, 128 or 256
  int channels = 1;      // 1 or 3
  int num_classes = 2;
  int z_dim = 64;
  int embed_dim = 32;    // class embedding concatenated with z
  int g_width = 8;       // generator channels at the output resolution
  int g_max_width = 128;
  int d_width = 32;      // discriminator channels after the first downsampling
  int d_max_width = 256;
  int d_mbstd_group = 4;  // minibatch standard-deviation group in D (0 = off)
  int g_noise = 1;        // per-pixel noise injection in G's up blocks (1 = on)
  int g_zmod = 1;         // z-dependent BN gains and biases in G (self-modulation; 1 = on)

  int generator_channels(int resolution) const;      // c(r) above
  int discriminator_channels(int resolution) const;  // width of the block producing r×r
  void validate(const std::string& where) const;      // ConfigError naming `where`.<key>
  std::map<std::string, std::string> to_map() const;  // for checkpoint metadata
  static GanArchitecture from_map(const std::map<std::string, std::string>& values, const std::string& what);
  std::string describe() const;  // "64x64x1, z 64, ..." for logs
  bool operator==(const GanArchitecture& other) const { return to_map() == other.to_map(); }
};

// BatchNorm without affine parameters, then a per-class gain and bias, plus (z_dim > 0) a
// gain and bias linear in z (self-modulation, Chen et al. 2019; BigGAN's conditional BN
// takes z the same way): gain = E_g[y] + W_g z, bias = E_b[y] + W_b z.
// Running statistics: exponential (momentum 0.1) while training, or a cumulative average
// after reset_running_stats() + set_cumulative(true) (standing statistics).
class ConditionalBatchNormImpl : public torch::nn::Module {
 public:
  ConditionalBatchNormImpl(int64_t features, int64_t num_classes, int64_t z_dim = 0);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& labels, const at::Tensor& z = {});
  void reset_running_stats();
  void set_cumulative(bool cumulative) { cumulative_ = cumulative; }

  torch::nn::Embedding gain{nullptr}, bias{nullptr};
  torch::nn::Linear gain_z{nullptr}, bias_z{nullptr};  // null without self-modulation
  at::Tensor running_mean, running_var, num_batches_tracked;

 private:
  bool cumulative_ = false;
};
TORCH_MODULE(ConditionalBatchNorm);

// Up2 (nearest) → Conv3×3 (in → 2·out, no bias) → + noise_weight · noise → CBN → GLU.
class UpBlockImpl : public torch::nn::Module {
 public:
  UpBlockImpl(int64_t in_channels, int64_t out_channels, int64_t num_classes, bool noise, int64_t z_dim);
  // `noise` [N,1,H,W] at the output resolution, or undefined (drawn from LibTorch's
  // global generator when the block injects noise); `z` for self-modulation.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& labels, const at::Tensor& z,
                     const at::Tensor& noise = {});
  torch::nn::Conv2d conv{nullptr};
  ConditionalBatchNorm bn{nullptr};
  at::Tensor noise_weight;  // undefined without noise injection
};
TORCH_MODULE(UpBlock);

// Skip-layer excitation: a channel gate for the big feature computed from a small one.
class SkipExcitationImpl : public torch::nn::Module {
 public:
  SkipExcitationImpl(int64_t small_channels, int64_t big_channels);
  at::Tensor forward(const at::Tensor& small, const at::Tensor& big);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(SkipExcitation);

class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(const GanArchitecture& architecture);
  // z [N, z_dim], labels int64 [N] → images [N, C, S, S] in [-1, 1]. `noise`: one map per
  // up block ([N,1,r,r], r = 8 … S), or empty to draw them from LibTorch's generator.
  at::Tensor forward(const at::Tensor& z, const at::Tensor& labels, const std::vector<at::Tensor>& noise = {});
  // Resolutions of the noise maps (empty without noise injection).
  std::vector<int> noise_resolutions() const;
  const GanArchitecture& architecture() const { return architecture_; }
  // Standing statistics (BigGAN): recompute every CBN's running mean/var as the average over
  // `batches` training-mode forward passes of `batch` images with z and balanced labels drawn
  // from a generator seeded by `seed`. Leaves the module in eval mode.
  void recompute_batch_stats(int batches, int batch, uint64_t seed);

  torch::nn::Embedding class_embedding{nullptr};
  torch::nn::ConvTranspose2d init_conv{nullptr};
  ConditionalBatchNorm init_bn{nullptr};
  torch::nn::ModuleList up{nullptr};      // up[i] produces resolution 8·2^i
  torch::nn::ModuleList excite{nullptr};  // one per resolution r >= 32
  torch::nn::Conv2d to_image{nullptr};

 private:
  std::vector<ConditionalBatchNorm> batch_norms() const;
  GanArchitecture architecture_;
  std::vector<int> resolutions_;           // of up[i]'s output
  std::map<int, int> excite_index_;        // resolution → index into excite
};
TORCH_MODULE(Generator);

// Minibatch standard deviation: for groups of `group` consecutive images (the largest
// divisor of N not above `group`), the std over the group averaged over C,H,W, appended as
// one channel. Consecutive groups keep a concatenated [real; fake] batch's halves apart
// when the half size is a multiple of the group.
at::Tensor minibatch_stddev(const at::Tensor& x, int group);

// FastGAN DownBlockComp with spectral norm instead of BatchNorm.
class DownBlockImpl : public torch::nn::Module {
 public:
  DownBlockImpl(int64_t in_channels, int64_t out_channels);
  at::Tensor forward(const at::Tensor& x);
  SNConv2d main1{nullptr}, main2{nullptr}, direct{nullptr};
};
TORCH_MODULE(DownBlock);

class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const GanArchitecture& architecture);
  // images [N, C, S, S] in [-1, 1], labels int64 [N] → logits [N].
  at::Tensor forward(const at::Tensor& images, const at::Tensor& labels);

  torch::nn::ModuleList down{nullptr};
  SNConv2d final_conv{nullptr};
  SNLinear linear{nullptr};
  SNEmbedding projection{nullptr};

 private:
  GanArchitecture architecture_;
};
TORCH_MODULE(Discriminator);

class ClassCriticImpl : public torch::nn::Module {
 public:
  ClassCriticImpl(int64_t channels, int64_t num_classes, int64_t width = 16);
  // images [N, C, S, S] in [-1, 1] → class logits [N, classes].
  at::Tensor forward(const at::Tensor& images);
  torch::nn::ModuleList convs{nullptr}, norms{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  std::vector<int> strides_;
};
TORCH_MODULE(ClassCritic);

int64_t count_parameters(const torch::nn::Module& module);

// The z of one image: z_dim standard normal draws from the portable datasets RNG seeded by
// (seed, label, index), so an image depends only on those three numbers and the checkpoint.
std::vector<float> latent_for(int z_dim, uint64_t seed, int label, int64_t index);
// The noise maps of one image (Σ r² values, r over noise_resolutions(), in that order) from
// a second stream of the same RNG seeded by (seed, label, index).
std::vector<float> noise_for(const std::vector<int>& resolutions, uint64_t seed, int label, int64_t index);

// z and noise of images `indices` of class `label` (sampling at eval time): z [n, z_dim]
// and one noise tensor [n,1,r,r] per resolution.
struct Latents {
  at::Tensor z;
  std::vector<at::Tensor> noise;
};
Latents latents_for(const GeneratorImpl& generator, uint64_t seed, int label, const std::vector<int64_t>& indices);

}  // namespace frerec::generators
