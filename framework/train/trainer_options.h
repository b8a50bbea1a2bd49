// Trainer options, their config schema and the learning-rate schedule (torch-free).
//
// Schema keys (trainer_schema(); defaults are sized for small CPU runs):
//   optimizer adamw|sgd · lr · weight_decay (applied to every parameter) · momentum,
//   nesterov (SGD) · betas (AdamW) · epochs · steps (a fixed number of optimisation steps,
//   0 = epochs decide) · batch_size · eval_batch_size · drop_last ·
//   warmup_epochs (may be fractional) · warmup_steps (> 0: in steps, overriding
//   warmup_epochs) · schedule cosine|step|constant · min_lr (cosine
//   floor) · step_size (epochs), gamma (step) · label_smoothing · grad_clip (max global L2
//   norm, 0 = off) · workers (loader threads, 0 = load on the training thread) · threads
//   (LibTorch intra-op threads for training and predictions, 0 = the run's --threads) · prefetch
//   (batches prepared ahead) · amp, channels_last (CUDA only; ignored with a note on CPU) ·
//   val_metric auc|accuracy|f1 · model_selection last|best · num_classes · resume.
// Seed, device and max_epochs_this_run come from the run (RunContext and the cell),
// not from the trainer section.
//
// Length: `epochs` passes over the training set, or, when `steps` > 0, exactly `steps`
// optimisation steps whatever the training-set size — ceil(steps / steps_per_epoch) epochs,
// the last one cut short (a method that doubles the training set then gets the same number
// of updates, not twice as many).
//
// LR schedule, per optimisation step s = 0 .. total-1 (total = epochs · steps_per_epoch, or
// `steps`; W = warmup_steps when > 0, else round(warmup_epochs · steps_per_epoch) warm-up
// steps; at most total. With `steps`, only warmup_steps gives every training-set size the
// same schedule: warmup_epochs counts epochs of each method's own training set):
//   s <  W : lr · (s + 1) / W                                      (linear warm-up)
//   s >= W : cosine   min_lr + (lr − min_lr) · ½ · (1 + cos(π · (s − W) / (total − W)))
//            step     lr · gamma^floor(s / (step_size · steps_per_epoch))   (counted from s=0)
//            constant lr
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/config/schema.h"

namespace frerec::train {

struct TrainerOptions {
  // --- from the trainer config section (trainer_schema) ---
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double weight_decay = 1e-2;
  double momentum = 0.9;
  bool nesterov = false;
  std::vector<double> betas = {0.9, 0.999};
  int epochs = 10;
  long steps = 0;  // > 0: train exactly this many optimisation steps; epochs then follow from the data
  int batch_size = 32;
  int eval_batch_size = 64;
  bool drop_last = true;
  double warmup_epochs = 1.0;
  long warmup_steps = 0;  // > 0: warm-up length in steps (overrides warmup_epochs)
  std::string schedule = "cosine";
  double min_lr = 0.0;
  int step_size = 30;
  double gamma = 0.1;
  double label_smoothing = 0.0;
  double grad_clip = 0.0;
  int workers = 2;
  int prefetch = 4;
  bool amp = false;
  bool channels_last = false;
  std::string val_metric = "auc";
  std::string model_selection = "last";
  int num_classes = 2;
  bool resume = true;
  int threads = 0;  // LibTorch intra-op threads while training and predicting; 0 leaves the current setting

  // --- from the run, not the config section ---
  std::uint64_t seed = 0;
  std::string device = "cpu";
  int max_epochs_this_run = 0;  // stop (checkpointed) after this many epochs in this call; 0 = no limit
};

config::Schema trainer_schema();
TrainerOptions from_params(const config::Params& params);
// Throws ConfigError naming the key, its value and the fix for any inconsistent value
// (the schema checks types and ranges; this also guards options built in code).
void validate_options(const TrainerOptions& options);

// The run's length for a training set of `steps_per_epoch` batches: its epochs (the last may be
// cut short when `steps` is set) and its optimisation steps.
int planned_epochs(const TrainerOptions& options, long steps_per_epoch);
long planned_steps(const TrainerOptions& options, long steps_per_epoch);
// Optimisation steps of epoch `epoch` (0-based): steps_per_epoch except in a cut-short last epoch.
long steps_in_epoch(const TrainerOptions& options, long steps_per_epoch, int epoch);

class LrSchedule {
 public:
  LrSchedule(const TrainerOptions& options, long steps_per_epoch);
  double at(long step) const;
  long total_steps() const { return total_steps_; }
  long warmup_steps() const { return warmup_steps_; }

 private:
  std::string kind_;
  double base_, min_lr_, gamma_;
  long steps_per_epoch_, total_steps_, warmup_steps_, step_size_steps_;
};

}  // namespace frerec::train
