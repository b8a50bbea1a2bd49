// AFA: Adversarial/Auxiliary Fourier-basis Augmentation (nis-research/afa-augment;
// REFERENCE.md "AFA"), in its default training mode (no JSD).
//
// Noise. For an image of H × W (S = max(H, W); our images are square, S = H = W), per image
// and per channel, independently:
//   k uniform in {1..S}, f = k/S;  j uniform in {0..G−1}, ω = −π·linspace(0, 1, G)[j] (G = 448);
//   grid x = linspace(−H/2, H/2, H) over rows, y = linspace(−W/2, W/2, W) over columns
//   (meshgrid 'ij');  wave = sin(2πf(x cos ω + y sin ω) − π/4) / ‖·‖₂ (over H × W);
//   strength = Exponential(mean_strength) + min_strength;
//   out = clamp(x + strength · (S/32) · wave, 0, 1)   (before any normalisation).
// The draws come from the batch generator in the order (k, j, strength) per image, channel.
//
// Training. loss = ½·[CE(model_main(clean), y) + CE(model_aux(AFA(clean)), y)], where clean
// is the crop/flip-augmented batch and model_aux routes every BatchNorm2d through its
// auxiliary twin. Implementation: attach_auxiliary_batchnorm() registers, on every
// torch::nn::BatchNorm2d of the model, the extra parameters aux_weight/aux_bias and buffers
// aux_running_mean/aux_running_var/aux_num_batches_tracked (initialised as copies of the
// main ones, so pretrained statistics seed both). The main BN keeps its torchvision names
// (bn1.weight, ...): torchvision weights load unchanged; checkpoints carry the extra
// bn1.aux_* entries. AuxiliaryBatchNormScope swaps the tensors the BN forward reads (the
// public weight/bias/running_* members) for the aux ones and restores them on exit; the
// module graph is not touched, so it works for any model built from torch::nn::BatchNorm2d
// (ResNet, DenseNet, test CNNs). Gradients reach the aux parameters through the autograd
// graph after the scope ends. Evaluation (predict) uses the main BN.
// ViT has no BatchNorm: its LayerNorms normalise each token on its own (no batch
// statistics to separate), so they are shared and AFA reduces to training on both views with
// the mean of the two losses; attach_auxiliary_batchnorm() then returns 0 and the record says so.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "framework/core/image.h"
#include "framework/train/batch.h"

namespace frerec::augmentations {

struct AfaOptions {
  double mean_strength = 10.0;  // mean of the exponential strength (ImageNet example)
  double min_strength = 0.0;    // added to the exponential strength
  int granularity = 448;        // number of directions in [0, π]
};

// The unit-L2-norm planar wave sin(2πf(x cos ω + y sin ω) − π/4) on the H × W grid above,
// row-major [H·W].
std::vector<float> fourier_basis_wave(int height, int width, double frequency, double omega);

struct AfaDraw {
  int k = 1;            // frequency index, f = k/S
  int direction = 0;    // j, ω = −π·j/(G − 1)
  double strength = 0;  // before the S/32 factor
};

// The AFA view of one image; `draws` (optional) receives one entry per channel.
Image afa_augment(const Image& image, const AfaOptions& options, std::mt19937_64& rng,
                  std::vector<AfaDraw>* draws = nullptr);

// Adds batch.extra["afa"] = AFA(batch.images) (the images the earlier transforms produced).
class AfaBatchTransform : public train::BatchTransform {
 public:
  explicit AfaBatchTransform(AfaOptions options);  // ConfigError on bad options
  void apply(train::Batch& batch, std::mt19937_64& rng) const override;

 private:
  AfaOptions options_;
};

// Registers the auxiliary BatchNorm tensors on every BatchNorm2d of `model` (idempotent);
// returns the number of BatchNorm2d layers.
int attach_auxiliary_batchnorm(torch::nn::Module& model);

// While alive, every BatchNorm2d of `model` with auxiliary tensors computes with them.
class AuxiliaryBatchNormScope {
 public:
  explicit AuxiliaryBatchNormScope(torch::nn::Module& model);
  ~AuxiliaryBatchNormScope();
  AuxiliaryBatchNormScope(const AuxiliaryBatchNormScope&) = delete;
  AuxiliaryBatchNormScope& operator=(const AuxiliaryBatchNormScope&) = delete;

 private:
  struct Swap;
  std::vector<std::unique_ptr<Swap>> swaps_;
};

// The AFA step: mean of the clean (main BN) and AFA (auxiliary BN) losses.
class AfaStepHook : public train::TrainStepHook {
 public:
  torch::Tensor loss(train::ModelHandle& model, train::Batch& batch, const train::Criterion& criterion,
                     train::StepContext& context) override;
};

}  // namespace frerec::augmentations
