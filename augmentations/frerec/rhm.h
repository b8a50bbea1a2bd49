// Training and inference of the RHM denoising auto-encoder A (paper "Reconstructive
// High-Frequency Mapping", Eq. 7; shared/DESIGN.md §4 "RHM"). Torch-free interface: images in,
// checkpoint files and images out, so the CLI and the pipeline need no LibTorch headers.
//
// Training: pairs (input x̂ = SHR(x) supplied by the caller, target x = the real image).
//   AdamW (β 0.9/0.999), cosine learning rate per step from lr to min_lr, gradient-norm clip,
//   random patch crops and flips applied identically to input and target, loss Eq. 7
//   (augmentations/frerec/rhm_loss.h). After every epoch: validation loss, PSNR and SSIM on held-out
//   pairs (whole images, padded like inference), and an atomic checkpoint `last.pt`
//   (+ `best.pt` on the best validation PSNR) under checkpoint_dir.
// Determinism: the network is initialised from `seed`; every epoch's sample order, crops,
//   flips and perturbation seeds come from a generator seeded by (seed, epoch), so a run
//   resumed from `last.pt` at an epoch boundary continues exactly as an uninterrupted one
//   (CPU; same thread count).
// Inference: reflect-pad bottom/right to a multiple of 8 (replicate where the image is
//   smaller than the pad), batches of equal-sized images, clamp to [0,1], crop back.
//
// Decisions where the paper is silent (listed for DESIGN.md §4):
//   * Defaults follow the official Restormer recipe where it applies: lr 3e-4 → min_lr 1e-6
//     cosine, weight decay 1e-4, gradient-norm clip 0.01, flips; batch 4 and patch 64 are CPU-sized.
//   * Steps per epoch = ceil(train pairs / batch) unless steps_per_epoch > 0; samples are drawn
//     without replacement (reshuffled permutations).
//   * When `perturb` is given, inputs are regenerated per epoch with seed hash(seed, epoch,
//     index) — e.g. fresh ε draws of SHR; validation inputs use hash(seed, "val", index), fixed.
//   * SSIM for validation: Gaussian 11×11, σ 1.5, valid windows, population variance,
//     K1 0.01, K2 0.03, data range 1, mean over channels (window shrinks for images < 11 px).
//   * Checkpoint format: a torch pickle (torch::pickle_save; torch.load reads it) of a dict with
//     format, architecture (YAML), train_config, epoch, global_step, history (JSON), model
//     (name → tensor) and optimizer (serialized LibTorch archive).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/image.h"
#include "framework/core/image_store.h"

namespace frerec::rhm {

// The `dae` section: training keys plus `network` (the frerec_dae schema: in_channels, dim,
// num_blocks, num_refinement_blocks, heads, ffn_expansion_factor, bias, layernorm, fesa,
// ring_width, angular_bins).
config::Schema dae_schema();

struct DaeTrainOptions {
  std::string network_yaml;  // architecture (RestormerOptions::to_yaml); empty = paper_dae_options()
  int epochs = 20;
  int batch_size = 4;
  int patch_size = 64;          // multiple of 8
  int steps_per_epoch = 0;      // 0: ceil(pairs / batch)
  double lr = 3e-4;
  double min_lr = 1e-6;
  double weight_decay = 1e-4;
  double grad_clip = 0.01;      // max gradient norm; 0 disables
  double spectral_weight = 1.0; // λ of Eq. 7
  std::string spectral_loss = "amplitude";
  bool flips = true;
  std::uint64_t seed = 0;
  std::string init_weights;     // optional weights (e.g. official Restormer; .safetensors or earlier HDF5), matching keys only
  std::filesystem::path checkpoint_dir;  // empty: no checkpoints
  bool resume = true;
  int val_batch_size = 4;
  // Output conv starts at 0: the untrained network is the identity (global residual), so
  // training starts from the input's PSNR. SHR inputs are close to their targets (≈ 45 dB at
  // 64²); from a random output conv a small DAE spends its whole budget getting back there.
  bool zero_init_output = false;
  // After each epoch, BatchNorm running statistics = the plain mean over this many training
  // batches of the current weights (0: the momentum averages of training). With batch 4 and a
  // learning rate that moves the weights every step, the momentum averages lag the weights and
  // the eval-mode network differs from the one that was trained.
  int precise_bn_batches = 0;
  // Exponential moving average of the weights (Polyak averaging), 0 = off. Validation, the
  // saved model and inference use the averaged weights; the optimiser keeps training the
  // raw ones. Decay at step t: min(ema_decay, (1 + t) / (10 + t)), so a short run is not
  // dominated by the initialisation. With batch 4 and a learning rate that moves every output
  // pixel by more than the few-dB gain being learned, the averaged network is the quieter one.
  double ema_decay = 0;
  // Factor on SHR's ε (Eq. 3) for the training inputs only; validation inputs and inference
  // keep the SHR they are given (1: training and inference share one SHR, as the paper says).
  // Applied by whoever builds the perturbation (augmentations/frerec/pipeline.cpp); here so that
  // it is in canonical() and hence in the auto-encoder's cache key and resume check.
  double train_epsilon_scale = 1.0;

  void validate() const;        // ConfigError naming the key
  std::string canonical() const;  // all keys that change the result (resume must match)
};
DaeTrainOptions dae_options_from(const config::Params& params);

using PerturbFn = std::function<Image(std::size_t index, const Image& target, std::uint64_t seed)>;

struct DaePairs {
  std::vector<Image> targets;  // clean real images x
  std::vector<Image> inputs;   // fixed perturbed inputs x̂, same order; may be empty when perturb is set
  PerturbFn perturb;           // optional: makes x̂ from (index, x, seed)
  // Streaming (paper-scale sets): when set, the targets are rows [store_begin, store_begin +
  // store_count) of this store, read batch by batch; `targets` stays empty and `perturb` is
  // required. Indices passed to perturb are 0-based within the range.
  std::shared_ptr<const ImageStore> store;
  std::size_t store_begin = 0, store_count = 0;
  std::size_t size() const { return store ? store_count : targets.size(); }
  // The clean images at `rows` (0-based), from `targets` or the store.
  std::vector<Image> read_targets(const std::vector<std::size_t>& rows) const;
};

struct DaeEpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_pixel = 0, train_spectral = 0;
  double val_loss = 0, val_psnr = 0, val_ssim = 0;
  double input_psnr = 0;  // PSNR of the perturbed validation inputs (what the DAE starts from)
  double lr = 0, seconds = 0;
};

struct DaeProgress {
  int epoch = 0, epochs = 0;
  std::int64_t step = 0, total_steps = 0;  // global optimisation steps
  double loss = 0, lr = 0;
  double elapsed_seconds = 0, eta_seconds = 0;
  const DaeEpochStats* epoch_end = nullptr;  // set once per epoch after validation
};
using DaeProgressFn = std::function<void(const DaeProgress&)>;

struct DaeTrainResult {
  std::filesystem::path last_checkpoint, best_checkpoint;  // empty without checkpoint_dir
  std::vector<DaeEpochStats> history;
  bool resumed = false;
  int start_epoch = 0;
};

DaeTrainResult train_dae(const DaeTrainOptions& options, const DaePairs& train, const DaePairs& validation,
                         const RunContext& context, const DaeProgressFn& progress = {});

// A trained auto-encoder ready for inference.
class DaeModel {
 public:
  // Rebuilds the architecture stored in the checkpoint and loads its weights.
  static DaeModel load(const std::filesystem::path& checkpoint, const std::string& device = "cpu");
  // Loads `checkpoint` into an architecture given by the caller (RunError naming the
  // mismatching keys and shapes when it was made for another one).
  static DaeModel load_into(const std::string& network_yaml, const std::filesystem::path& checkpoint,
                            const std::string& device = "cpu");
  DaeModel(DaeModel&&) noexcept;
  DaeModel& operator=(DaeModel&&) noexcept;
  ~DaeModel();

  std::vector<Image> restore(const std::vector<Image>& images, int batch_size = 4) const;
  int channels() const;
  std::string architecture() const;  // YAML
  std::int64_t parameters() const;

 private:
  struct State;
  explicit DaeModel(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The learning curve stored in a checkpoint (one entry per finished epoch, in order).
std::vector<DaeEpochStats> dae_history(const std::filesystem::path& checkpoint);

// SHA-256 of the checkpoint file (cache keys of calibrated images).
std::string checkpoint_fingerprint(const std::filesystem::path& checkpoint);

// Metrics used by validation (exposed for the pipeline and tests).
double psnr(const Image& a, const Image& b);  // data range 1
double ssim_gaussian(const Image& a, const Image& b);

}  // namespace frerec::rhm
