// The classifier trainer of the downstream task (paper Tables 2 and 3).
//
// Design
//   Data. A SampleSource (framework/train/sample_source.h, torch-free) gives labelled
//   images; each epoch the training set is visited in a permutation drawn from
//   derive_seed(seed, {shuffle, epoch}). Batch b holds permutation entries
//   [b·B, (b+1)·B) (the last incomplete batch is dropped when drop_last). Batches are built
//   by `workers` loader threads, at most `prefetch` ahead of the training step, and handed
//   out strictly in order (ordered_prefetcher.h). Building a batch = get() each sample,
//   apply the per-sample transforms with a generator seeded from (seed, epoch, sample
//   index), collate to [N,C,H,W] + one-hot targets, then the batch transforms with a
//   generator seeded from (seed, epoch, batch index). Results therefore do not depend on
//   the number of workers or on their timing. The time the training thread waits for the
//   next batch is recorded per epoch as data_wait_fraction (all steps, including filling
//   the pipeline at the start of the epoch) and data_wait_fraction_steady (without the
//   first batch).
//   Step. lr from LrSchedule (per step, trainer_options.h) → zero_grad → loss (the step
//   hook, or soft-target cross-entropy with label smoothing) under bf16 autocast when amp
//   on CUDA → NaN/inf check (RunError naming epoch and step, 1-based) → backward → clip
//   the global gradient norm (grad_clip > 0) → optimiser step.
//   Optimisers. torch::optim::AdamW / SGD (momentum, nesterov); weight decay on every
//   parameter (no exclusion of norms and biases; the paper does not say).
//   Selection. Fixed epochs by default (the last weights). With a validation source the
//   val_metric (AUC by default) is computed after every epoch; the best epoch (ties keep the
//   earlier one) is written to checkpoints/best.pt, and model_selection=best loads it at
//   the end.
//   Checkpoints. <out>/checkpoints/last.pt after every epoch and best.pt: one LibTorch
//   archive with the model (parameters and buffers), the optimiser state, and a JSON meta
//   record (completed epochs, global step = the scheduler position, best metric and epoch,
//   the options fingerprint and the per-epoch records). Written to a temporary file and
//   renamed (framework/core/atomic_file.h). Every generator the trainer uses is derived
//   from (seed, epoch, index), and LibTorch's global generator is reseeded from
//   (seed, epoch) at the start of every epoch, so no generator state needs saving: a run
//   killed after epoch k and resumed from last.pt reproduces the uninterrupted run exactly
//   on CPU. Resume refuses a checkpoint whose fingerprint (every option that changes the
//   numbers, the seed and the training-set size) differs.
//   Determinism. The caller seeds LibTorch before building the model
//   (seed_global_torch(cell seed)) — LibTorch's weight initialisation uses its global
//   generator. With the same seed, options and thread count, two runs give identical
//   weights, predictions and metrics on CPU.
//   Outputs. <out>/train_log.jsonl: one JSON object per epoch {epoch, step, lr,
//   train_loss, val_<metric> (when validating), time_s, data_wait_fraction,
//   data_wait_fraction_steady}, rewritten atomically after every epoch. Progress goes
//   through a callback after every step (the lead draws bars); an epoch callback runs after
//   each epoch's checkpoint is written (throwing from it stops the run as a kill would).
//   Device. options.device "cpu" or "cuda[:N]"; amp and channels_last apply on CUDA only
//   and are ignored with a log note on CPU. AMP uses bfloat16 autocast, which needs no loss
//   scaling (LibTorch's C++ API has no GradScaler).
//   Evaluation. predict(): eval mode, NoGradGuard, batched; score = softmax(logits)[:,1].
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "framework/metrics/predictions.h"
#include "framework/train/batch.h"
#include "framework/train/sample_source.h"
#include "framework/train/trainer_options.h"

namespace frerec::train {

struct ProgressInfo {
  int epoch = 0;             // 1-based
  int epochs = 0;
  long step_in_epoch = 0;    // 1-based, steps done in this epoch
  long steps_per_epoch = 0;
  long global_step = 0;      // steps done in total
  long total_steps = 0;
  double lr = 0.0;
  double loss = 0.0;         // this step's loss
  double data_wait_fraction = 0.0;  // so far in this epoch
};

struct EpochRecord {
  int epoch = 0;                 // 1-based
  long step = 0;                 // global step at the end of the epoch
  double lr = 0.0;               // lr of the epoch's last step
  double train_loss = 0.0;       // mean step loss
  std::optional<double> val_metric;
  double seconds = 0.0;
  double data_wait_fraction = 0.0;
  double data_wait_fraction_steady = 0.0;
};

struct TrainResult {
  int epochs_completed = 0;   // in total, including epochs done before a resume
  long global_step = 0;
  bool finished = false;      // all `epochs` done (false when stopped by max_epochs_this_run)
  bool resumed = false;       // started from checkpoints/last.pt
  std::optional<double> best_val_metric;
  int best_epoch = 0;         // 1-based; 0 when no validation
  std::vector<EpochRecord> history;
};

// Seeds LibTorch's global generator (weight initialisation). Call before building the model.
void seed_global_torch(std::uint64_t seed);

class Trainer {
 public:
  explicit Trainer(TrainerOptions options);  // validates (ConfigError)

  void add_sample_transform(std::shared_ptr<const SampleTransform> transform);
  void add_batch_transform(std::shared_ptr<const BatchTransform> transform);
  void set_step_hook(std::shared_ptr<TrainStepHook> hook);
  void set_progress_callback(std::function<void(const ProgressInfo&)> callback);
  void set_epoch_callback(std::function<void(const EpochRecord&)> callback);

  // Trains `model` in place. `validation` may be null. `out_dir` receives checkpoints/ and
  // train_log.jsonl; an empty path writes nothing (and cannot resume).
  TrainResult fit(ModelHandle& model, const SampleSource& train, const SampleSource* validation,
                  const std::filesystem::path& out_dir);

  const TrainerOptions& options() const { return options_; }

 private:
  struct FitRun;  // one call of fit (trainer.cpp)
  void set_up(FitRun& run, ModelHandle& model, std::size_t train_size, const std::filesystem::path& out_dir) const;
  bool resume(FitRun& run, ModelHandle& model) const;
  void train_epoch(FitRun& run, ModelHandle& model, const SampleSource& train, int epoch, EpochRecord& record) const;
  double train_step(FitRun& run, ModelHandle& model, Batch& batch, int epoch, long batch_index, double lr) const;

  TrainerOptions options_;
  std::vector<std::shared_ptr<const SampleTransform>> sample_transforms_;
  std::vector<std::shared_ptr<const BatchTransform>> batch_transforms_;
  std::shared_ptr<TrainStepHook> step_hook_;
  std::function<void(const ProgressInfo&)> progress_;
  std::function<void(const EpochRecord&)> on_epoch_;
};

struct PredictOptions {
  int batch_size = 64;
  int workers = 0;
  int prefetch = 2;
  std::string device = "cpu";
  bool amp = false;
  bool channels_last = false;
};
PredictOptions predict_options_from(const TrainerOptions& options);

// Positive-class scores (softmax probability of class 1) for every sample, in source order,
// with their ids and labels — ready for metrics::evaluate_binary and write_predictions_csv.
metrics::PredictionTable predict(ModelHandle& model, const SampleSource& source, const PredictOptions& options);

// Loads the model weights of a checkpoint (last.pt or best.pt) into `model`.
void load_model_weights(ModelHandle& model, const std::filesystem::path& checkpoint, const std::string& device);

}  // namespace frerec::train
