#include "framework/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/random.h"
#include "framework/io/state_dict.h"
#include "framework/metrics/metrics.h"
#include "framework/train/checkpoint.h"
#include "framework/train/ordered_prefetcher.h"

namespace fs = std::filesystem;

namespace frerec::train {
namespace {

constexpr int kMetaFormat = 1;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

torch::Device resolve_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw ConfigError(fmt::format("trainer: device={} is not a device name; use cpu or cuda (cuda:N)", name));
  }
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw RunError(fmt::format("trainer: device={} requested but CUDA is not available in this build or machine; "
                               "use device=cpu",
                               name));
  }
  if (!device.is_cpu() && !device.is_cuda()) {
    throw ConfigError(fmt::format("trainer: device={} is not supported; use cpu or cuda", name));
  }
  return device;
}

// bfloat16 autocast on CUDA for the forward pass and the loss (no GradScaler needed).
class CudaAutocastScope {
 public:
  explicit CudaAutocastScope(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    previous_ = at::autocast::is_enabled();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~CudaAutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, previous_);
#else
    at::autocast::set_enabled(previous_);
#endif
  }
  CudaAutocastScope(const CudaAutocastScope&) = delete;
  CudaAutocastScope& operator=(const CudaAutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
};

// Restores a module's training flag on scope exit.
class TrainingModeScope {
 public:
  TrainingModeScope(torch::nn::Module& module, bool training) : module_(module), previous_(module.is_training()) {
    module_.train(training);
  }
  ~TrainingModeScope() { module_.train(previous_); }

 private:
  torch::nn::Module& module_;
  bool previous_;
};

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

// Loads samples `indices`, applies the per-sample transforms, collates.
// num_classes == 0: no targets (prediction).
Batch collate(const SampleSource& source, const std::vector<std::size_t>& indices,
              const std::vector<std::shared_ptr<const SampleTransform>>& transforms, std::uint64_t seed, int epoch,
              int num_classes) {
  Batch batch;
  const long n = static_cast<long>(indices.size());
  batch.ids.reserve(n);
  batch.indices = indices;
  std::vector<std::int64_t> labels(n);
  float* out = nullptr;
  int channels = 0, height = 0, width = 0;
  std::size_t image_size = 0;
  for (long i = 0; i < n; ++i) {
    const std::size_t index = indices[i];
    Sample sample = source.get(index);
    if (!transforms.empty()) {
      std::mt19937_64 rng(random::derive_seed(seed, {kSampleStream, static_cast<std::uint64_t>(epoch), index}));
      for (const auto& transform : transforms) transform->apply(sample.image, rng);
    }
    const Image& image = sample.image;
    const std::size_t expected =
        static_cast<std::size_t>(image.channels) * static_cast<std::size_t>(image.height) * image.width;
    if (image.channels <= 0 || image.height <= 0 || image.width <= 0 || image.data.size() != expected) {
      throw RunError(fmt::format("trainer: sample '{}' (index {}) has an invalid image [{},{},{}] with {} values; "
                                 "check the dataset loader",
                                 sample.id, index, image.channels, image.height, image.width, image.data.size()));
    }
    if (i == 0) {
      channels = image.channels;
      height = image.height;
      width = image.width;
      image_size = expected;
      batch.images = torch::empty({n, channels, height, width}, torch::kFloat);
      out = batch.images.data_ptr<float>();
    } else if (image.channels != channels || image.height != height || image.width != width) {
      throw RunError(fmt::format("trainer: sample '{}' has shape [{},{},{}] but the batch started with [{},{},{}]; "
                                 "resize all images to one size in the dataset config",
                                 sample.id, image.channels, image.height, image.width, channels, height, width));
    }
    std::memcpy(out + i * image_size, image.data.data(), image_size * sizeof(float));
    if (num_classes > 0 && (sample.label < 0 || sample.label >= num_classes)) {
      throw RunError(fmt::format("trainer: sample '{}' has label {} outside [0, num_classes={}); fix the labels or "
                                 "set trainer.num_classes",
                                 sample.id, sample.label, num_classes));
    }
    labels[i] = sample.label;
    batch.ids.push_back(std::move(sample.id));
  }
  batch.labels = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
  if (num_classes > 0) {
    batch.targets = torch::zeros({n, num_classes}, torch::kFloat);
    float* t = batch.targets.data_ptr<float>();
    for (long i = 0; i < n; ++i) t[i * num_classes + labels[i]] = 1.0f;
  }
  return batch;
}

void batch_to_device(Batch& batch, const torch::Device& device, bool channels_last) {
  if (device.is_cpu() && !channels_last) return;
  batch.images = batch.images.to(device);
  if (channels_last) batch.images = batch.images.contiguous(at::MemoryFormat::ChannelsLast);
  if (batch.targets.defined()) batch.targets = batch.targets.to(device);
  batch.labels = batch.labels.to(device);
  for (auto& [name, tensor] : batch.extra) {
    if (tensor.defined()) tensor = tensor.to(device);
  }
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainerOptions& o,
                                                        std::vector<torch::Tensor> parameters) {
  if (o.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        std::move(parameters),
        torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(o.weight_decay));
  }
  return std::make_unique<torch::optim::AdamW>(
      std::move(parameters),
      torch::optim::AdamWOptions(o.lr).betas({o.betas[0], o.betas[1]}).weight_decay(o.weight_decay));
}

// Every option that changes the numbers, plus the seed and the data size.
std::string options_fingerprint(const TrainerOptions& o, std::size_t train_size, long steps_per_epoch) {
  const std::string text = fmt::format(
      "format={};optimizer={};lr={:.17g};wd={:.17g};momentum={:.17g};nesterov={};betas={:.17g},{:.17g};epochs={};"
      "batch_size={};drop_last={};warmup={:.17g};schedule={};min_lr={:.17g};step_size={};gamma={:.17g};"
      "ls={:.17g};clip={:.17g};amp={};val_metric={};num_classes={};seed={};n={};spe={}",
      kMetaFormat, o.optimizer, o.lr, o.weight_decay, o.momentum, o.nesterov, o.betas[0], o.betas[1], o.epochs,
      o.batch_size, o.drop_last, o.warmup_epochs, o.schedule, o.min_lr, o.step_size, o.gamma, o.label_smoothing,
      o.grad_clip, o.amp, o.val_metric, o.num_classes, o.seed, train_size, steps_per_epoch);
  // Only when set, so that checkpoints of epoch-based runs still resume.
  return sha256_hex(text + (o.steps > 0 ? fmt::format(";steps={}", o.steps) : "") +
                    (o.warmup_steps > 0 ? fmt::format(";warmup_steps={}", o.warmup_steps) : ""));
}

nlohmann::json to_json(const EpochRecord& r, const std::string& val_metric) {
  nlohmann::json j = {{"epoch", r.epoch},
                      {"step", r.step},
                      {"lr", r.lr},
                      {"train_loss", r.train_loss},
                      {"time_s", r.seconds},
                      {"data_wait_fraction", r.data_wait_fraction},
                      {"data_wait_fraction_steady", r.data_wait_fraction_steady}};
  if (r.val_metric) j["val_" + val_metric] = *r.val_metric;
  return j;
}

EpochRecord record_from_json(const nlohmann::json& j, const std::string& val_metric) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int>();
  r.step = j.at("step").get<long>();
  r.lr = j.at("lr").get<double>();
  r.train_loss = j.at("train_loss").get<double>();
  r.seconds = j.at("time_s").get<double>();
  r.data_wait_fraction = j.at("data_wait_fraction").get<double>();
  r.data_wait_fraction_steady = j.at("data_wait_fraction_steady").get<double>();
  if (j.contains("val_" + val_metric)) r.val_metric = j.at("val_" + val_metric).get<double>();
  return r;
}

void write_train_log(const fs::path& path, const std::vector<EpochRecord>& history, const std::string& val_metric) {
  std::string content;
  for (const auto& r : history) content += to_json(r, val_metric).dump() + "\n";
  write_file_atomic(path, content);
}

struct CheckpointMeta {
  int epoch = 0;
  long global_step = 0;
  std::string fingerprint;
  std::optional<double> best_metric;
  int best_epoch = 0;
  std::vector<EpochRecord> history;
};

std::string meta_to_string(const CheckpointMeta& m, const std::string& val_metric) {
  nlohmann::json j = {{"format", kMetaFormat},
                      {"epoch", m.epoch},
                      {"global_step", m.global_step},
                      {"fingerprint", m.fingerprint},
                      {"best_epoch", m.best_epoch},
                      {"best_metric", m.best_metric ? nlohmann::json(*m.best_metric) : nlohmann::json(nullptr)}};
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : m.history) history.push_back(to_json(r, val_metric));
  j["history"] = history;
  return j.dump();
}

CheckpointMeta meta_from_string(const std::string& text, const std::string& val_metric, const fs::path& path) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("format").get<int>() != kMetaFormat) {
      throw RunError(fmt::format("trainer: checkpoint '{}' has format {} but this build reads {}; delete it to "
                                 "start the cell afresh",
                                 path.string(), j.at("format").get<int>(), kMetaFormat));
    }
    CheckpointMeta m;
    m.epoch = j.at("epoch").get<int>();
    m.global_step = j.at("global_step").get<long>();
    m.fingerprint = j.at("fingerprint").get<std::string>();
    m.best_epoch = j.at("best_epoch").get<int>();
    if (!j.at("best_metric").is_null()) m.best_metric = j.at("best_metric").get<double>();
    for (const auto& r : j.at("history")) m.history.push_back(record_from_json(r, val_metric));
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw RunError(fmt::format("trainer: checkpoint '{}' has an unreadable meta record ({}); delete it to start "
                               "the cell afresh",
                               path.string(), e.what()));
  }
}

// Checkpoints in the shared format (framework/train/checkpoint.h), kind "classifier": module
// "model", optimizer "optimizer" (last.pt only), meta = the trainer's record above.
void save_checkpoint(const fs::path& path, const torch::nn::Module& module, const torch::optim::Optimizer* optimizer,
                     const std::string& meta) {
  Checkpoint checkpoint;
  checkpoint.kind = "classifier";
  checkpoint.meta = nlohmann::json::parse(meta);
  checkpoint.fingerprint = checkpoint.meta.value("fingerprint", "");
  checkpoint.add_module("model", module);
  if (optimizer != nullptr) checkpoint.add_optimizer("optimizer", *optimizer);
  checkpoint.add_rng();
  write_checkpoint(path, checkpoint);
}

// Reads `path`; loads the model (and optimizer when given) and returns the meta record text.
std::string load_checkpoint(const fs::path& path, torch::nn::Module& module, torch::optim::Optimizer* optimizer,
                            const torch::Device& device) {
  const Checkpoint checkpoint = read_checkpoint(path, "classifier", "trainer");
  io::load_state(module, checkpoint.module("model"), true, path.string(),
                 {"the model (written for another model?)", "delete it to start afresh", {}});
  try {
    if (optimizer != nullptr) checkpoint.load_optimizer("optimizer", *optimizer, device);
  } catch (const c10::Error& e) {
    throw RunError(fmt::format("trainer: could not load the optimizer state of checkpoint '{}' (written for another "
                               "model or damaged?): {}; delete it to start afresh",
                               path.string(), e.what_without_backtrace()));
  }
  return checkpoint.meta.dump();
}

std::vector<std::size_t> epoch_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Fisher-Yates with rejection-sampled indices (same on every standard library).
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[random::uniform_index(rng, i)]);
  return order;
}

}  // namespace

torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets,
                                        double label_smoothing) {
  if (logits.dim() != 2 || targets.dim() != 2 || logits.size(0) != targets.size(0) ||
      logits.size(1) != targets.size(1)) {
    throw RunError(fmt::format("trainer: logits of shape {} do not match targets of shape {}; the model's output "
                               "width must equal trainer.num_classes",
                               fmt::join(logits.sizes(), "x"), fmt::join(targets.sizes(), "x")));
  }
  torch::Tensor t = targets.to(torch::kFloat);
  if (label_smoothing > 0.0) {
    t = t * (1.0 - label_smoothing) + label_smoothing / static_cast<double>(targets.size(1));
  }
  return -(t * logits.to(torch::kFloat).log_softmax(1)).sum(1).mean();
}

void seed_global_torch(std::uint64_t seed) { torch::manual_seed(seed); }

Trainer::Trainer(TrainerOptions options) : options_(std::move(options)) { validate_options(options_); }

void Trainer::add_sample_transform(std::shared_ptr<const SampleTransform> transform) {
  FREREC_ASSERT(transform != nullptr, "null sample transform");
  sample_transforms_.push_back(std::move(transform));
}
void Trainer::add_batch_transform(std::shared_ptr<const BatchTransform> transform) {
  FREREC_ASSERT(transform != nullptr, "null batch transform");
  batch_transforms_.push_back(std::move(transform));
}
void Trainer::set_step_hook(std::shared_ptr<TrainStepHook> hook) { step_hook_ = std::move(hook); }
void Trainer::set_progress_callback(std::function<void(const ProgressInfo&)> callback) {
  progress_ = std::move(callback);
}
void Trainer::set_epoch_callback(std::function<void(const EpochRecord&)> callback) { on_epoch_ = std::move(callback); }

PredictOptions predict_options_from(const TrainerOptions& o) {
  PredictOptions p;
  p.batch_size = o.eval_batch_size;
  p.workers = o.workers;
  p.prefetch = o.prefetch;
  p.device = o.device;
  p.amp = o.amp;
  p.channels_last = o.channels_last;
  return p;
}

// One call of fit: the device, the optimiser and schedule, where checkpoints go, and the
// state they save.
struct Trainer::FitRun {
  torch::Device device{torch::kCPU};
  bool use_amp = false, use_channels_last = false;
  long steps_per_epoch = 0;
  int epochs = 0;  // planned_epochs: `epochs`, or what `steps` takes
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::optional<LrSchedule> schedule;
  std::string fingerprint;
  Criterion criterion;
  PredictOptions eval_options;
  fs::path out_dir, last_path, best_path, log_path;
  CheckpointMeta state;
};

namespace {

// Steps per epoch after checking that the inputs can train (ConfigError / RunError naming why not).
long check_fit_inputs(const TrainerOptions& o, const ModelHandle& model, const SampleSource& train,
                      const SampleSource* validation) {
  if (!model.module || !model.forward) throw ConfigError("trainer: the model handle is empty; build the model first");
  const std::size_t n = train.size();
  if (n == 0) throw RunError("trainer: the training set is empty; check the dataset split");
  const long batch_size = o.batch_size;
  const long steps_per_epoch =
      o.drop_last ? static_cast<long>(n) / batch_size : (static_cast<long>(n) + batch_size - 1) / batch_size;
  if (steps_per_epoch == 0) {
    throw ConfigError(fmt::format("trainer: batch_size={} exceeds the training set ({} images) with drop_last=true; "
                                  "lower batch_size or set drop_last=false",
                                  o.batch_size, n));
  }
  if (o.model_selection == "best" && validation == nullptr) {
    throw ConfigError("trainer: model_selection=best needs a validation split; add one or use model_selection=last");
  }
  if (validation != nullptr && validation->size() == 0) {
    throw RunError("trainer: the validation set is empty; check the dataset split or drop validation");
  }
  return steps_per_epoch;
}

}  // namespace

void Trainer::set_up(FitRun& run, ModelHandle& model, std::size_t n, const fs::path& out_dir) const {
  const TrainerOptions& o = options_;
  if (o.threads > 0) torch::set_num_threads(o.threads);
  run.device = resolve_device(o.device);
  const bool on_cuda = run.device.is_cuda();
  if (!on_cuda && (o.amp || o.channels_last)) {
    spdlog::info("trainer: amp={} channels_last={} apply on CUDA only; ignored on device {}", o.amp, o.channels_last,
                 o.device);
  }
  run.use_amp = on_cuda && o.amp;
  run.use_channels_last = on_cuda && o.channels_last;
  model.module->to(run.device);
  if (run.use_channels_last) to_channels_last(*model.module);
  run.optimizer = make_optimizer(o, model.module->parameters());
  run.schedule.emplace(o, run.steps_per_epoch);
  run.fingerprint = options_fingerprint(o, n, run.steps_per_epoch);
  run.criterion = [ls = o.label_smoothing](const torch::Tensor& logits, const torch::Tensor& targets) {
    return soft_target_cross_entropy(logits, targets, ls);
  };
  run.eval_options = predict_options_from(o);
  run.out_dir = out_dir;
  const fs::path checkpoint_dir = out_dir.empty() ? fs::path() : out_dir / "checkpoints";
  run.last_path = checkpoint_dir / "last.pt";
  run.best_path = checkpoint_dir / "best.pt";
  run.log_path = out_dir / "train_log.jsonl";
  run.state.fingerprint = run.fingerprint;
}

// Continues from checkpoints/last.pt when there is one (and resume is on).
bool Trainer::resume(FitRun& run, ModelHandle& model) const {
  if (run.out_dir.empty()) return false;
  fs::create_directories(run.last_path.parent_path());
  if (!options_.resume || !fs::exists(run.last_path)) return false;
  const std::string meta_text = load_checkpoint(run.last_path, *model.module, run.optimizer.get(), run.device);
  CheckpointMeta loaded = meta_from_string(meta_text, options_.val_metric, run.last_path);
  if (loaded.fingerprint != run.fingerprint) {
    throw RunError(fmt::format("trainer: checkpoint '{}' was written with different trainer options, seed or "
                               "training set; delete the checkpoints folder (or run with --fresh) to retrain",
                               run.last_path.string()));
  }
  run.state = std::move(loaded);
  spdlog::info("trainer: resumed from '{}' after epoch {} (step {})", run.last_path.string(), run.state.epoch,
               run.state.global_step);
  return true;
}

// One optimisation step on `batch`; returns its loss. Errors name the epoch and step.
double Trainer::train_step(FitRun& run, ModelHandle& model, Batch& batch, int epoch, long b, double lr) const {
  const TrainerOptions& o = options_;
  try {
    run.optimizer->zero_grad();
    torch::Tensor loss;
    {
      CudaAutocastScope autocast(run.use_amp);
      std::mt19937_64 step_rng(random::derive_seed(o.seed, {kStepStream, static_cast<std::uint64_t>(epoch),
                                                            static_cast<std::uint64_t>(b)}));
      StepContext context{epoch, b, run.state.global_step, lr, &step_rng};
      loss = step_hook_ ? step_hook_->loss(model, batch, run.criterion, context)
                        : run.criterion(model.forward(batch.images), batch.targets);
    }
    if (!loss.defined() || loss.numel() != 1) {
      throw RunError(fmt::format("trainer: the step loss at epoch {} step {} is not a scalar tensor; a "
                                 "TrainStepHook must return the mean loss",
                                 epoch + 1, b + 1));
    }
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw RunError(fmt::format("trainer: loss is {} at epoch {} step {} (of {} per epoch, global step {}); "
                                 "lower lr (now {:.3g}), set grad_clip or check the inputs for NaN",
                                 std::isnan(loss_value) ? "nan" : (loss_value > 0 ? "inf" : "-inf"), epoch + 1,
                                 b + 1, run.steps_per_epoch, run.state.global_step + 1, lr));
    }
    loss.backward();
    if (o.grad_clip > 0.0) torch::nn::utils::clip_grad_norm_(model.module->parameters(), o.grad_clip);
    run.optimizer->step();
    return loss_value;
  } catch (const c10::Error& e) {
    throw RunError(fmt::format("trainer: LibTorch failed at epoch {} step {} (batch of {} images): {}", epoch + 1,
                               b + 1, batch.images.size(0), e.what_without_backtrace()));
  }
}

// The training half of an epoch: shuffled batches, loaded and transformed on the worker
// threads, one step each. Fills the training fields of `record`.
void Trainer::train_epoch(FitRun& run, ModelHandle& model, const SampleSource& train, int epoch,
                          EpochRecord& record) const {
  const TrainerOptions& o = options_;
  const auto epoch_start = std::chrono::steady_clock::now();
  const std::size_t n = train.size(), batch_size = static_cast<std::size_t>(o.batch_size);
  seed_global_torch(random::derive_seed(o.seed, {kTorchStream, static_cast<std::uint64_t>(epoch)}));
  model.module->train(true);
  const std::vector<std::size_t> order =
      epoch_permutation(n, random::derive_seed(o.seed, {kShuffleStream, static_cast<std::uint64_t>(epoch)}));
  const long steps = steps_in_epoch(o, run.steps_per_epoch, epoch);
  OrderedPrefetcher<Batch> loader(
      static_cast<std::size_t>(steps),
      [&](std::size_t b) {
        const std::size_t begin = b * batch_size, end = std::min(n, begin + batch_size);
        std::vector<std::size_t> indices(order.begin() + begin, order.begin() + end);
        Batch batch = collate(train, indices, sample_transforms_, o.seed, epoch, o.num_classes);
        batch.epoch = epoch;
        batch.batch_index = static_cast<long>(b);
        std::mt19937_64 rng(random::derive_seed(o.seed, {kBatchStream, static_cast<std::uint64_t>(epoch), b}));
        for (const auto& transform : batch_transforms_) transform->apply(batch, rng);
        return batch;
      },
      o.workers, o.prefetch);
  double loss_sum = 0.0, first_wait = 0.0, lr = 0.0;
  Batch batch;
  for (long b = 0; b < steps; ++b) {
    const double wait_before = loader.wait_seconds();
    loader.next(batch);
    if (b == 0) first_wait = loader.wait_seconds() - wait_before;
    lr = run.schedule->at(run.state.global_step);
    for (auto& group : run.optimizer->param_groups()) group.options().set_lr(lr);
    batch_to_device(batch, run.device, run.use_channels_last);
    const double loss_value = train_step(run, model, batch, epoch, b, lr);
    ++run.state.global_step;
    loss_sum += loss_value;
    if (progress_) {
      ProgressInfo info;
      info.epoch = epoch + 1;
      info.epochs = run.epochs;
      info.step_in_epoch = b + 1;
      info.steps_per_epoch = run.steps_per_epoch;
      info.global_step = run.state.global_step;
      info.total_steps = run.schedule->total_steps();
      info.lr = lr;
      info.loss = loss_value;
      const double elapsed = seconds_since(epoch_start);
      info.data_wait_fraction = elapsed > 0.0 ? loader.wait_seconds() / elapsed : 0.0;
      progress_(info);
    }
  }
  const double train_seconds = seconds_since(epoch_start);
  loader.stop();
  record.epoch = epoch + 1;
  record.step = run.state.global_step;
  record.lr = lr;
  record.train_loss = loss_sum / static_cast<double>(steps);
  const double wait = loader.wait_seconds();
  record.data_wait_fraction = train_seconds > 0.0 ? std::min(1.0, wait / train_seconds) : 0.0;
  const double steady_time = train_seconds - first_wait;
  record.data_wait_fraction_steady =
      steps > 1 && steady_time > 0.0 ? std::clamp((wait - first_wait) / steady_time, 0.0, 1.0) : 0.0;
}

namespace {

// The validation metric of the epoch; true when it is the best so far.
bool validate_epoch(const TrainerOptions& o, ModelHandle& model, const SampleSource& validation,
                    const PredictOptions& eval_options, int epoch, CheckpointMeta& state, EpochRecord& record) {
  const metrics::PredictionTable table = predict(model, validation, eval_options);
  const double value = metrics::binary_metric(o.val_metric, table);
  record.val_metric = value;
  if (!state.best_metric || value > *state.best_metric) {
    state.best_metric = value;
    state.best_epoch = epoch + 1;
    return true;
  }
  return false;
}

}  // namespace

TrainResult Trainer::fit(ModelHandle& model, const SampleSource& train, const SampleSource* validation,
                         const fs::path& out_dir) {
  const TrainerOptions& o = options_;
  FitRun run;
  run.steps_per_epoch = check_fit_inputs(o, model, train, validation);
  run.epochs = planned_epochs(o, run.steps_per_epoch);
  set_up(run, model, train.size(), out_dir);
  TrainResult result;
  result.resumed = resume(run, model);
  int epochs_this_run = 0;
  for (int epoch = run.state.epoch; epoch < run.epochs; ++epoch) {
    if (o.max_epochs_this_run > 0 && epochs_this_run >= o.max_epochs_this_run) break;
    const auto epoch_start = std::chrono::steady_clock::now();
    EpochRecord record;
    train_epoch(run, model, train, epoch, record);
    const bool improved =
        validation != nullptr && validate_epoch(o, model, *validation, run.eval_options, epoch, run.state, record);
    record.seconds = seconds_since(epoch_start);
    run.state.epoch = epoch + 1;
    run.state.history.push_back(record);
    if (!out_dir.empty()) {
      const std::string meta = meta_to_string(run.state, o.val_metric);
      if (improved) save_checkpoint(run.best_path, *model.module, nullptr, meta);
      save_checkpoint(run.last_path, *model.module, run.optimizer.get(), meta);
      write_train_log(run.log_path, run.state.history, o.val_metric);
    }
    spdlog::debug("trainer: epoch {}/{} loss {:.4f} lr {:.3g} wait {:.1f}% time {:.2f}s", epoch + 1, run.epochs,
                  record.train_loss, record.lr, 100.0 * record.data_wait_fraction, record.seconds);
    ++epochs_this_run;
    if (on_epoch_) on_epoch_(record);
  }
  result.epochs_completed = run.state.epoch;
  result.global_step = run.state.global_step;
  result.finished = run.state.epoch >= run.epochs;
  result.best_val_metric = run.state.best_metric;
  result.best_epoch = run.state.best_epoch;
  result.history = run.state.history;
  if (result.finished && o.model_selection == "best" && run.state.best_epoch > 0) {
    if (out_dir.empty()) {
      throw ConfigError("trainer: model_selection=best needs an output folder for checkpoints/best.pt");
    }
    load_checkpoint(run.best_path, *model.module, nullptr, run.device);
  }
  return result;
}

metrics::PredictionTable predict(ModelHandle& model, const SampleSource& source, const PredictOptions& options) {
  if (!model.module || !model.forward) throw ConfigError("predict: the model handle is empty; build the model first");
  if (options.batch_size < 1) {
    throw ConfigError(fmt::format("predict: eval_batch_size={} must be >= 1", options.batch_size));
  }
  const torch::Device device = resolve_device(options.device);
  const bool use_amp = device.is_cuda() && options.amp;
  const bool use_channels_last = device.is_cuda() && options.channels_last;
  metrics::PredictionTable table;
  const std::size_t n = source.size();
  if (n == 0) return table;
  table.ids.reserve(n);
  table.labels.reserve(n);
  table.scores.reserve(n);
  const std::size_t batch_size = static_cast<std::size_t>(options.batch_size);
  const std::size_t batches = (n + batch_size - 1) / batch_size;

  TrainingModeScope eval_mode(*model.module, false);
  torch::NoGradGuard no_grad;
  OrderedPrefetcher<Batch> loader(
      batches,
      [&](std::size_t b) {
        std::vector<std::size_t> indices;
        for (std::size_t i = b * batch_size; i < std::min(n, (b + 1) * batch_size); ++i) indices.push_back(i);
        return collate(source, indices, {}, 0, 0, 0);
      },
      options.workers, options.prefetch);
  Batch batch;
  while (loader.next(batch)) {
    batch_to_device(batch, device, use_channels_last);
    torch::Tensor logits;
    {
      CudaAutocastScope autocast(use_amp);
      logits = model.forward(batch.images);
    }
    if (logits.dim() != 2 || logits.size(0) != batch.images.size(0)) {
      throw RunError(fmt::format("predict: the model returned logits of shape {} for a batch of {} images; "
                                 "expected [N, num_classes]",
                                 fmt::join(logits.sizes(), "x"), batch.images.size(0)));
    }
    logits = logits.to(torch::kFloat);
    const torch::Tensor scores =
        (logits.size(1) == 1 ? logits.select(1, 0).sigmoid() : logits.softmax(1).select(1, 1))
            .to(torch::kCPU)
            .to(torch::kDouble)
            .contiguous();
    const double* s = scores.data_ptr<double>();
    const torch::Tensor labels = batch.labels.to(torch::kCPU);
    const std::int64_t* l = labels.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < scores.size(0); ++i) {
      table.scores.push_back(s[i]);
      table.labels.push_back(static_cast<int>(l[i]));
      table.ids.push_back(std::move(batch.ids[i]));
    }
  }
  return table;
}

void load_model_weights(ModelHandle& model, const fs::path& checkpoint, const std::string& device) {
  if (!model.module) throw ConfigError("trainer: the model handle is empty; build the model first");
  if (!fs::exists(checkpoint)) {
    throw RunError(fmt::format("trainer: checkpoint '{}' does not exist; train the cell first", checkpoint.string()));
  }
  load_checkpoint(checkpoint, *model.module, nullptr, resolve_device(device));
}

}  // namespace frerec::train
