// Batch-level hooks of the trainer (LibTorch). See framework/train/trainer.h for the design.
//
//   * Batch: images [N,C,H,W] float32, soft targets [N,num_classes] float32 (one-hot before
//     any batch transform; label smoothing is applied later, inside the criterion), hard
//     labels [N] int64, ids, dataset indices, and `extra` tensors a batch transform may add
//     for a step hook (e.g. AFA's second view). All tensors are on the CPU in a
//     BatchTransform and on the training device in a TrainStepHook.
//   * BatchTransform: runs on a loader thread after collation, with a std::mt19937_64 seeded
//     from (seed, epoch, batch index); may change images, targets and extras (Mix-up).
//     apply() is const and called concurrently: keep all randomness in `rng`.
//   * TrainStepHook: replaces the default step loss  criterion(model.forward(images), targets)
//     for methods needing their own forward (AFA: two branches through main and auxiliary
//     BatchNorm, mean of two cross-entropies). It runs on the training thread inside the
//     AMP scope; the trainer does backward, clipping and the optimiser step.
//   * ModelHandle: the trained module plus its forward function, so any torch module
//     (models/classifiers' Classifier, a test CNN) can be trained without a common base.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace frerec::train {

struct Batch {
  torch::Tensor images;   // [N,C,H,W] float32
  torch::Tensor targets;  // [N,K] float32 soft targets
  torch::Tensor labels;   // [N] int64 hard labels
  std::vector<std::string> ids;
  std::vector<std::size_t> indices;  // positions in the SampleSource
  std::map<std::string, torch::Tensor> extra;
  int epoch = 0;          // 0-based
  long batch_index = 0;   // 0-based within the epoch
};

class BatchTransform {
 public:
  virtual ~BatchTransform() = default;
  virtual void apply(Batch& batch, std::mt19937_64& rng) const = 0;
};

struct ModelHandle {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;  // images -> logits [N,K]
};

template <typename M>
ModelHandle make_model_handle(std::shared_ptr<M> module) {
  return ModelHandle{module, [module](const torch::Tensor& x) { return module->forward(x); }};
}
template <typename M>
ModelHandle make_model_handle(const torch::nn::ModuleHolder<M>& holder) {
  return make_model_handle(holder.ptr());
}

// Mean over the batch of  −Σ_k t'_k · log_softmax(logits)_k  with
// t' = (1 − eps)·t + eps/K. Equals torch's cross_entropy(label_smoothing=eps) for one-hot t,
// and composes with Mix-up (both are linear in t).
torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                        double label_smoothing = 0.0);

// The trainer's criterion: soft_target_cross_entropy with the configured label smoothing.
using Criterion = std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& targets)>;

struct StepContext {
  int epoch = 0;            // 0-based
  long step_in_epoch = 0;   // 0-based
  long global_step = 0;     // 0-based optimisation step
  double lr = 0.0;
  std::mt19937_64* rng = nullptr;  // seeded from (seed, epoch, batch index)
};

class TrainStepHook {
 public:
  virtual ~TrainStepHook() = default;
  virtual torch::Tensor loss(ModelHandle& model, Batch& batch, const Criterion& criterion,
                             StepContext& context) = 0;
};

}  // namespace frerec::train
