#include "framework/train/trainer_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "framework/core/error.h"
#include "framework/metrics/predictions.h"

namespace frerec::train {

config::Schema trainer_schema() {
  config::Schema s;
  s.add_string("optimizer", "adamw", "optimiser: adamw (decoupled weight decay) or sgd", {"adamw", "sgd"});
  s.add_float("lr", 1e-3, "peak learning rate (reached after warm-up)", 0.0, 10.0);
  s.add_float("weight_decay", 1e-2, "weight decay applied to every parameter (decoupled for adamw)", 0.0, 1.0);
  s.add_float("momentum", 0.9, "SGD momentum", 0.0, 1.0);
  s.add_bool("nesterov", false, "SGD Nesterov momentum (needs momentum > 0)");
  s.add_float_list("betas", {0.9, 0.999}, "AdamW (beta1, beta2)", 0.0, 1.0);
  s.add_int("epochs", 10, "training epochs (fixed-epoch model selection by default)", 1, 100000);
  s.add_int("steps", 0,
            "train exactly this many optimisation steps whatever the training-set size (0: `epochs` passes); "
            "the epochs then follow from the data and the last one is cut short",
            0, 1000000000);
  s.add_int("batch_size", 32, "training batch size", 1, 1 << 20);
  s.add_int("eval_batch_size", 64, "batch size for validation and test predictions", 1, 1 << 20);
  s.add_bool("drop_last", true, "drop the last incomplete training batch of each epoch (BatchNorm needs > 1)");
  s.add_float("warmup_epochs", 1.0, "linear warm-up length in epochs (fractional allowed, counted in steps)", 0.0,
              100000.0);
  s.add_int("warmup_steps", 0,
            "linear warm-up length in optimisation steps; > 0 overrides warmup_epochs (with `steps`, the same "
            "schedule whatever the training-set size)",
            0, 1000000000);
  s.add_string("schedule", "cosine", "LR schedule after warm-up: cosine (to min_lr), step, constant",
               {"cosine", "step", "constant"});
  s.add_float("min_lr", 0.0, "final learning rate of the cosine schedule", 0.0, 10.0);
  s.add_int("step_size", 30, "step schedule: multiply lr by gamma every step_size epochs", 1, 100000);
  s.add_float("gamma", 0.1, "step schedule: decay factor", 0.0, 1.0);
  s.add_float("label_smoothing", 0.0, "label smoothing eps: targets (1-eps)*y + eps/num_classes", 0.0, 1.0);
  s.add_float("grad_clip", 0.0, "clip the global gradient L2 norm to this value; 0 = off", 0.0, 1e9);
  s.add_int("workers", 2, "data loader threads; 0 loads batches on the training thread", 0, 256);
  s.add_int("threads", 0,
            "LibTorch intra-op threads for this cell's training and test predictions; 0 follows --threads. "
            "A fixed value makes the cell's results identical whatever --threads (LibTorch's CPU kernels split "
            "their sums by thread count, so with 0 the trained model depends on --threads, as in PyTorch)",
            0, 1024);
  s.add_int("prefetch", 4, "batches prepared ahead of the training step (bounded queue)", 1, 1024);
  s.add_bool("amp", false, "bfloat16 autocast on CUDA; ignored (with a note) on CPU");
  s.add_bool("channels_last", false, "channels-last memory format on CUDA; ignored (with a note) on CPU");
  s.add_string("val_metric", "auc", "validation metric for best-checkpoint selection (higher is better)",
               {"auc", "accuracy", "f1"});
  s.add_string("model_selection", "last",
               "final weights: last epoch, or best by val_metric (needs a validation split)", {"last", "best"});
  s.add_int("num_classes", 2, "number of classes (width of the soft targets)", 2, 100000);
  s.add_bool("resume", true, "continue from checkpoints/last.pt when it exists and matches these options");
  return s;
}

TrainerOptions from_params(const config::Params& p) {
  TrainerOptions o;
  o.optimizer = p.get_or<std::string>("optimizer", o.optimizer);
  o.lr = p.get_or<double>("lr", o.lr);
  o.weight_decay = p.get_or<double>("weight_decay", o.weight_decay);
  o.momentum = p.get_or<double>("momentum", o.momentum);
  o.nesterov = p.get_or<bool>("nesterov", o.nesterov);
  o.betas = p.get_or<std::vector<double>>("betas", o.betas);
  o.epochs = p.get_or<int>("epochs", o.epochs);
  o.steps = p.get_or<long>("steps", o.steps);
  o.batch_size = p.get_or<int>("batch_size", o.batch_size);
  o.eval_batch_size = p.get_or<int>("eval_batch_size", o.eval_batch_size);
  o.drop_last = p.get_or<bool>("drop_last", o.drop_last);
  o.warmup_epochs = p.get_or<double>("warmup_epochs", o.warmup_epochs);
  o.warmup_steps = p.get_or<long>("warmup_steps", o.warmup_steps);
  o.schedule = p.get_or<std::string>("schedule", o.schedule);
  o.min_lr = p.get_or<double>("min_lr", o.min_lr);
  o.step_size = p.get_or<int>("step_size", o.step_size);
  o.gamma = p.get_or<double>("gamma", o.gamma);
  o.label_smoothing = p.get_or<double>("label_smoothing", o.label_smoothing);
  o.grad_clip = p.get_or<double>("grad_clip", o.grad_clip);
  o.workers = p.get_or<int>("workers", o.workers);
  o.prefetch = p.get_or<int>("prefetch", o.prefetch);
  o.threads = p.get_or<int>("threads", o.threads);
  o.amp = p.get_or<bool>("amp", o.amp);
  o.channels_last = p.get_or<bool>("channels_last", o.channels_last);
  o.val_metric = p.get_or<std::string>("val_metric", o.val_metric);
  o.model_selection = p.get_or<std::string>("model_selection", o.model_selection);
  o.num_classes = p.get_or<int>("num_classes", o.num_classes);
  o.resume = p.get_or<bool>("resume", o.resume);
  validate_options(o);
  return o;
}

namespace {
[[noreturn]] void bad(const std::string& key, const std::string& value, const std::string& fix) {
  throw ConfigError(fmt::format("trainer: {}={} {}", key, value, fix));
}
}  // namespace

void validate_options(const TrainerOptions& o) {
  if (o.optimizer != "adamw" && o.optimizer != "sgd") bad("optimizer", o.optimizer, "is unknown; use adamw or sgd");
  if (!(o.lr > 0.0) || !std::isfinite(o.lr)) bad("lr", fmt::format("{}", o.lr), "must be a positive number");
  if (!(o.weight_decay >= 0.0)) bad("weight_decay", fmt::format("{}", o.weight_decay), "must be >= 0");
  if (!(o.momentum >= 0.0 && o.momentum < 1.0)) bad("momentum", fmt::format("{}", o.momentum), "must be in [0,1)");
  if (o.optimizer == "sgd" && o.nesterov && o.momentum <= 0.0) {
    bad("nesterov", "true", "needs momentum > 0 (set momentum, e.g. 0.9, or nesterov=false)");
  }
  if (o.betas.size() != 2 || !(o.betas[0] >= 0.0 && o.betas[0] < 1.0) || !(o.betas[1] >= 0.0 && o.betas[1] < 1.0)) {
    bad("betas", fmt::format("[{}]", fmt::join(o.betas, ", ")), "must be two numbers in [0,1), e.g. [0.9, 0.999]");
  }
  if (o.epochs < 1) bad("epochs", std::to_string(o.epochs), "must be >= 1");
  if (o.steps < 0) bad("steps", std::to_string(o.steps), "must be >= 0 (0: epochs decide)");
  if (o.batch_size < 1) bad("batch_size", std::to_string(o.batch_size), "must be >= 1");
  if (o.eval_batch_size < 1) bad("eval_batch_size", std::to_string(o.eval_batch_size), "must be >= 1");
  if (!(o.warmup_epochs >= 0.0)) bad("warmup_epochs", fmt::format("{}", o.warmup_epochs), "must be >= 0");
  if (o.warmup_steps < 0) bad("warmup_steps", std::to_string(o.warmup_steps), "must be >= 0 (0: warmup_epochs decides)");
  // With `steps` the epoch count follows from the data, and the schedule caps warm-up at the run.
  if (o.steps == 0 && o.warmup_steps == 0 && o.warmup_epochs > o.epochs) {
    bad("warmup_epochs", fmt::format("{}", o.warmup_epochs), fmt::format("must be in [0, epochs={}]", o.epochs));
  }
  if (o.schedule != "cosine" && o.schedule != "step" && o.schedule != "constant") {
    bad("schedule", o.schedule, "is unknown; use cosine, step or constant");
  }
  if (!(o.min_lr >= 0.0) || o.min_lr > o.lr) bad("min_lr", fmt::format("{}", o.min_lr), fmt::format("must be in [0, lr={}]", o.lr));
  if (o.step_size < 1) bad("step_size", std::to_string(o.step_size), "must be >= 1 epoch");
  if (!(o.gamma > 0.0 && o.gamma <= 1.0)) bad("gamma", fmt::format("{}", o.gamma), "must be in (0,1]");
  if (!(o.label_smoothing >= 0.0 && o.label_smoothing < 1.0)) {
    bad("label_smoothing", fmt::format("{}", o.label_smoothing), "must be in [0,1)");
  }
  if (!(o.grad_clip >= 0.0)) bad("grad_clip", fmt::format("{}", o.grad_clip), "must be >= 0 (0 turns clipping off)");
  if (o.workers < 0) bad("workers", std::to_string(o.workers), "must be >= 0");
  if (o.prefetch < 1) bad("prefetch", std::to_string(o.prefetch), "must be >= 1");
  if (!metrics::binary_metric_registry().contains(o.val_metric)) {
    bad("val_metric", o.val_metric, "is unknown; use auc, accuracy or f1");
  }
  if (o.model_selection != "last" && o.model_selection != "best") {
    bad("model_selection", o.model_selection, "is unknown; use last or best");
  }
  if (o.num_classes < 2) bad("num_classes", std::to_string(o.num_classes), "must be >= 2");
  if (o.device != "cpu" && o.device.rfind("cuda", 0) != 0) {
    bad("device", o.device, "is unknown; use cpu or cuda (cuda:N)");
  }
  if (o.threads < 0) bad("threads", std::to_string(o.threads), "must be >= 0 (0 keeps the current setting)");
  if (o.max_epochs_this_run < 0) bad("max_epochs_this_run", std::to_string(o.max_epochs_this_run), "must be >= 0");
}

int planned_epochs(const TrainerOptions& o, long steps_per_epoch) {
  FREREC_ASSERT(steps_per_epoch > 0, "planned_epochs needs at least one step per epoch");
  return o.steps > 0 ? static_cast<int>((o.steps + steps_per_epoch - 1) / steps_per_epoch) : o.epochs;
}

long planned_steps(const TrainerOptions& o, long steps_per_epoch) {
  return o.steps > 0 ? o.steps : static_cast<long>(o.epochs) * steps_per_epoch;
}

long steps_in_epoch(const TrainerOptions& o, long steps_per_epoch, int epoch) {
  const long left = planned_steps(o, steps_per_epoch) - static_cast<long>(epoch) * steps_per_epoch;
  return std::clamp(left, 0L, steps_per_epoch);
}

LrSchedule::LrSchedule(const TrainerOptions& o, long steps_per_epoch)
    : kind_(o.schedule),
      base_(o.lr),
      min_lr_(o.min_lr),
      gamma_(o.gamma),
      steps_per_epoch_(steps_per_epoch),
      total_steps_(planned_steps(o, steps_per_epoch)),
      warmup_steps_(o.warmup_steps > 0 ? o.warmup_steps
                                       : std::lround(o.warmup_epochs * static_cast<double>(steps_per_epoch))),
      step_size_steps_(static_cast<long>(o.step_size) * steps_per_epoch) {
  FREREC_ASSERT(steps_per_epoch > 0, "LrSchedule needs at least one step per epoch");
  if (warmup_steps_ > total_steps_) warmup_steps_ = total_steps_;
}

double LrSchedule::at(long step) const {
  if (step < warmup_steps_) return base_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  if (kind_ == "cosine") {
    const long span = std::max(1L, total_steps_ - warmup_steps_);
    const double t = std::min(1.0, static_cast<double>(step - warmup_steps_) / static_cast<double>(span));
    return min_lr_ + (base_ - min_lr_) * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (kind_ == "step") return base_ * std::pow(gamma_, static_cast<double>(step / step_size_steps_));
  return base_;
}

}  // namespace frerec::train
