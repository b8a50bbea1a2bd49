// Mix-up (Zhang et al. 2018; REFERENCE.md "Mix-up") as a batch transform of the trainer.
//
// One λ ~ Beta(α, α) per batch and a uniformly random permutation π of the batch, both from
// the batch generator the trainer seeds with (seed, epoch, batch index):
//     images  ← λ·images  + (1 − λ)·images[π]
//     targets ← λ·targets + (1 − λ)·targets[π]
// With the trainer's soft-target cross-entropy (linear in the target) the step loss equals
// λ·CE(y) + (1 − λ)·CE(y[π]), and label smoothing composes (it is applied to the mixed
// target inside the criterion). Hard labels stay the unmixed ones. Beta(α, α) is drawn as
// X/(X + Y) with X, Y ~ Gamma(α, 1) (random::GammaDistribution: libstdc++'s
// std::gamma_distribution algorithm, the same numbers with every standard library).
// Decisions: the partner is a random permutation (the original paper; timm's "batch" mode
// pairs with the flipped batch instead); α default 0.2 (ImageNet practice).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "framework/train/batch.h"

namespace frerec::augmentations {

struct MixupDraw {
  double lambda = 1.0;
  std::vector<std::int64_t> permutation;
};

// λ and the partner permutation for a batch of n (α > 0; ConfigError otherwise).
MixupDraw draw_mixup(double alpha, std::int64_t n, std::mt19937_64& rng);

// Mixes images and targets of `batch` with `draw` (the formula above).
void apply_mixup(train::Batch& batch, const MixupDraw& draw);

class MixupTransform : public train::BatchTransform {
 public:
  explicit MixupTransform(double alpha);  // ConfigError for α ≤ 0 or not finite
  void apply(train::Batch& batch, std::mt19937_64& rng) const override;
  double alpha() const { return alpha_; }

 private:
  double alpha_;
};

}  // namespace frerec::augmentations
