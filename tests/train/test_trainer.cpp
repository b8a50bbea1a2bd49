// framework/train trainer: learning, determinism, resume-after-kill, hooks, NaN handling,
// LR through the trainer, data-wait recording, checkpoints, bad inputs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <thread>

#include <unistd.h>

#include "framework/core/error.h"
#include "framework/metrics/metrics.h"
#include "framework/train/trainer.h"

namespace fs = std::filesystem;
using namespace frerec;
using namespace frerec::train;

namespace {

// A small CNN standing in for models/classifiers in these tests.
struct ToyNetImpl : torch::nn::Module {
  ToyNetImpl()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3).padding(1)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(8))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).padding(1)))),
        fc(register_module("fc", torch::nn::Linear(16, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::max_pool2d(torch::relu(bn1(conv1(x))), 2);
    h = torch::relu(conv2(h));
    return fc(h.mean({2, 3}));
  }
  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::Linear fc;
};
TORCH_MODULE(ToyNet);

ModelHandle make_model(std::uint64_t seed) {
  seed_global_torch(seed);
  return make_model_handle(ToyNet());
}

// 16×16 grey images: class 0 a vertical bar, class 1 a horizontal bar, random position,
// Gaussian noise. Separable, but only by looking at structure (same mean brightness).
VectorSampleSource make_toy(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.15f);
  std::uniform_int_distribution<int> position(2, 13);
  VectorSampleSource source;
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.label = i % 2;
    s.id = "toy_" + std::to_string(i);
    s.image = Image(1, 16, 16);
    const int p = position(rng);
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x) {
        const bool on = s.label == 1 ? (y == p || y == p + 1) : (x == p || x == p + 1);
        s.image.at(0, y, x) = std::clamp((on ? 0.8f : 0.3f) + noise(rng), 0.0f, 1.0f);
      }
    }
    source.add(std::move(s));
  }
  return source;
}

TrainerOptions small_options() {
  TrainerOptions o;
  o.lr = 3e-3;
  o.epochs = 4;
  o.batch_size = 16;
  o.eval_batch_size = 32;
  o.warmup_epochs = 0.5;
  o.workers = 2;
  o.prefetch = 3;
  o.seed = 1234;
  o.threads = 1;
  return o;
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("frerec_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<nlohmann::json> read_log(const fs::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// Random horizontal flip (per-sample transform).
struct RandomFlip : SampleTransform {
  void apply(Image& image, std::mt19937_64& rng) const override {
    if ((rng() & 1u) == 0) return;
    for (int y = 0; y < image.height; ++y) std::reverse(&image.at(0, y, 0), &image.at(0, y, 0) + image.width);
  }
};

// Mix-up against the flipped batch, λ from the batch generator.
struct FlipMixup : BatchTransform {
  mutable std::atomic<int> calls{0};
  void apply(Batch& batch, std::mt19937_64& rng) const override {
    ++calls;
    const double lambda = 0.5 + 0.5 * static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0.5, 1)
    batch.images = lambda * batch.images + (1.0 - lambda) * batch.images.flip({0});
    batch.targets = lambda * batch.targets + (1.0 - lambda) * batch.targets.flip({0});
  }
};

// Runs `action`, which must throw RunError whose message contains `text`.
template <typename Action>
void expect_run_error(Action action, const std::string& text) {
  try {
    action();
    ADD_FAILURE() << "expected RunError mentioning '" << text << "'";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

struct TestEnv : ::testing::Environment {
  void SetUp() override { torch::set_num_threads(1); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new TestEnv);

}  // namespace

TEST(Trainer, LearnsSeparableToySet) {
  const VectorSampleSource train = make_toy(192, 1);
  const VectorSampleSource test = make_toy(96, 2);
  const fs::path out = scratch("learn");
  ModelHandle model = make_model(7);
  Trainer trainer(small_options());
  const TrainResult result = trainer.fit(model, train, nullptr, out);
  EXPECT_TRUE(result.finished);
  EXPECT_EQ(result.epochs_completed, 4);
  EXPECT_EQ(result.global_step, 4 * 12);
  const metrics::PredictionTable predictions = predict(model, test, predict_options_from(trainer.options()));
  ASSERT_EQ(predictions.scores.size(), 96u);
  EXPECT_EQ(predictions.ids.front(), "toy_0");
  const metrics::BinaryMetrics m = metrics::evaluate_binary(predictions.labels, predictions.scores);
  EXPECT_GT(m.auc, 0.95);
  EXPECT_GT(m.accuracy, 0.85);
  EXPECT_LT(result.history.back().train_loss, result.history.front().train_loss);
  // The log has one line per epoch with the documented keys.
  const auto log = read_log(out / "train_log.jsonl");
  ASSERT_EQ(log.size(), 4u);
  for (const char* key : {"epoch", "step", "lr", "train_loss", "time_s", "data_wait_fraction",
                          "data_wait_fraction_steady"}) {
    EXPECT_TRUE(log[0].contains(key)) << key;
  }
  EXPECT_EQ(log[3]["epoch"], 4);
  EXPECT_EQ(log[3]["step"], 48);
  EXPECT_TRUE(fs::exists(out / "checkpoints/last.pt"));
  fs::remove_all(out);
}

// train.steps: the same number of optimisation steps whatever the training-set size; the last
// epoch is cut short, the schedule spans exactly `steps`, and a run stopped in the middle
// resumes to the uninterrupted result.
TEST(Trainer, FixedStepsIndependentOfTrainingSetSize) {
  TrainerOptions o = small_options();
  o.steps = 30;  // 192 images / 16 = 12 steps per epoch -> epochs of 12, 12, 6
  for (const std::size_t n : {std::size_t{192}, std::size_t{384}}) {
    const VectorSampleSource train = make_toy(n, 1);
    const fs::path out = scratch("steps_" + std::to_string(n));
    ModelHandle model = make_model(7);
    Trainer trainer(o);
    long last_total = 0;
    trainer.set_progress_callback([&](const ProgressInfo& p) { last_total = p.total_steps; });
    const TrainResult result = trainer.fit(model, train, nullptr, out);
    EXPECT_TRUE(result.finished) << n;
    EXPECT_EQ(result.global_step, 30) << n;
    EXPECT_EQ(last_total, 30) << n;
    const long per_epoch = static_cast<long>(n) / 16;
    ASSERT_EQ(result.epochs_completed, static_cast<int>((30 + per_epoch - 1) / per_epoch)) << n;
    EXPECT_EQ(result.history.back().step, 30) << n;
    // The cosine reaches min_lr (0) at the run's last step, not at the end of a full last epoch.
    const double warmup = static_cast<double>(std::lround(o.warmup_epochs * static_cast<double>(per_epoch)));
    EXPECT_NEAR(result.history.back().lr, 0.5 * o.lr * (1 + std::cos(M_PI * (29.0 - warmup) / (30.0 - warmup))), 1e-12)
        << n;
    fs::remove_all(out);
  }
  // Interrupted after its first epoch, the run resumes to the same weights.
  const VectorSampleSource train = make_toy(192, 1), test = make_toy(32, 7);
  const fs::path full_dir = scratch("steps_full"), dir = scratch("steps_killed");
  ModelHandle full = make_model(3);
  Trainer(o).fit(full, train, nullptr, full_dir);
  {
    TrainerOptions first = o;
    first.max_epochs_this_run = 1;
    ModelHandle model = make_model(3);
    EXPECT_FALSE(Trainer(first).fit(model, train, nullptr, dir).finished);
  }
  ModelHandle resumed = make_model(77);
  const TrainResult result = Trainer(o).fit(resumed, train, nullptr, dir);
  EXPECT_TRUE(result.resumed);
  EXPECT_EQ(result.global_step, 30);
  EXPECT_EQ(predict(resumed, test, predict_options_from(o)).scores, predict(full, test, predict_options_from(o)).scores);
  // Another step count does not silently resume.
  TrainerOptions changed = o;
  changed.steps = 31;
  ModelHandle other = make_model(3);
  expect_run_error([&] { Trainer(changed).fit(other, train, nullptr, dir); }, "different trainer options");
  fs::remove_all(full_dir);
  fs::remove_all(dir);
}

TEST(Trainer, DeterministicAndIndependentOfWorkerCount) {
  const VectorSampleSource train = make_toy(64, 3);
  const VectorSampleSource test = make_toy(32, 4);
  auto run = [&](int workers, std::uint64_t seed, int threads = 1) {
    TrainerOptions o = small_options();
    o.epochs = 2;
    o.workers = workers;
    o.seed = seed;
    o.threads = threads;
    Trainer trainer(o);
    trainer.add_sample_transform(std::make_shared<RandomFlip>());
    trainer.add_batch_transform(std::make_shared<FlipMixup>());
    ModelHandle model = make_model(seed);
    trainer.fit(model, train, nullptr, {});
    return predict(model, test, predict_options_from(o)).scores;
  };
  const auto a = run(2, 5);
  const auto b = run(0, 5);
  const auto c = run(3, 5);
  EXPECT_EQ(a, b);  // bit-identical
  EXPECT_EQ(a, c);
  EXPECT_NE(a, run(2, 6));
  // Also with two intra-op threads (what a cell uses on this machine).
  EXPECT_EQ(run(2, 5, 2), run(1, 5, 2));
  torch::set_num_threads(1);
}

TEST(Trainer, ResumeAfterKillMatchesUninterruptedRun) {
  const VectorSampleSource train = make_toy(64, 5);
  const VectorSampleSource val = make_toy(32, 6);
  const VectorSampleSource test = make_toy(32, 7);
  // SGD with Nesterov momentum, step schedule, label smoothing, clipping, transforms:
  // everything that carries state across epochs.
  TrainerOptions o = small_options();
  o.optimizer = "sgd";
  o.lr = 0.05;
  o.nesterov = true;
  o.schedule = "step";
  o.step_size = 1;
  o.gamma = 0.7;
  o.label_smoothing = 0.1;
  o.grad_clip = 1.0;
  o.epochs = 4;
  auto configure = [](Trainer& trainer) {
    trainer.add_sample_transform(std::make_shared<RandomFlip>());
    trainer.add_batch_transform(std::make_shared<FlipMixup>());
  };

  const fs::path full_dir = scratch("resume_full");
  ModelHandle full = make_model(11);
  Trainer full_trainer(o);
  configure(full_trainer);
  const TrainResult full_result = full_trainer.fit(full, train, &val, full_dir);
  const auto expected = predict(full, test, predict_options_from(o)).scores;

  // Kill 1: stop after two epochs (max_epochs_this_run).
  const fs::path dir = scratch("resume_killed");
  {
    TrainerOptions first = o;
    first.max_epochs_this_run = 2;
    ModelHandle model = make_model(11);
    Trainer trainer(first);
    configure(trainer);
    const TrainResult partial = trainer.fit(model, train, &val, dir);
    EXPECT_FALSE(partial.finished);
    EXPECT_EQ(partial.epochs_completed, 2);
  }
  // Kill 2: an exception thrown from the epoch callback after epoch 3.
  {
    ModelHandle model = make_model(999);  // different init: weights must come from the checkpoint
    Trainer trainer(o);
    configure(trainer);
    trainer.set_epoch_callback([](const EpochRecord& r) {
      if (r.epoch == 3) throw std::runtime_error("simulated kill");
    });
    EXPECT_THROW(trainer.fit(model, train, &val, dir), std::runtime_error);
  }
  ModelHandle resumed = make_model(12345);
  Trainer trainer(o);
  configure(trainer);
  const TrainResult result = trainer.fit(resumed, train, &val, dir);
  EXPECT_TRUE(result.resumed);
  EXPECT_TRUE(result.finished);
  EXPECT_EQ(result.global_step, full_result.global_step);
  ASSERT_EQ(result.history.size(), 4u);
  for (int e = 0; e < 4; ++e) {
    EXPECT_EQ(result.history[e].train_loss, full_result.history[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(result.history[e].val_metric, full_result.history[e].val_metric) << "epoch " << e + 1;
  }
  EXPECT_EQ(predict(resumed, test, predict_options_from(o)).scores, expected);
  EXPECT_EQ(read_log(dir / "train_log.jsonl").size(), 4u);

  // A finished run resumed again trains nothing and keeps the weights.
  const TrainResult again = trainer.fit(resumed, train, &val, dir);
  EXPECT_EQ(again.global_step, full_result.global_step);
  EXPECT_EQ(predict(resumed, test, predict_options_from(o)).scores, expected);

  // Changed options must not silently resume.
  TrainerOptions changed = o;
  changed.lr = 0.02;
  Trainer changed_trainer(changed);
  ModelHandle other = make_model(11);
  expect_run_error([&] { changed_trainer.fit(other, train, &val, dir); }, "different trainer options");
  fs::remove_all(full_dir);
  fs::remove_all(dir);
}

TEST(Trainer, BestCheckpointByValidationAuc) {
  const VectorSampleSource train = make_toy(64, 8);
  const VectorSampleSource val = make_toy(32, 9);
  TrainerOptions o = small_options();
  o.epochs = 3;
  o.model_selection = "best";
  const fs::path out = scratch("best");
  ModelHandle model = make_model(3);
  Trainer trainer(o);
  const TrainResult result = trainer.fit(model, train, &val, out);
  ASSERT_TRUE(result.best_val_metric.has_value());
  ASSERT_GE(result.best_epoch, 1);
  double best = -1.0;
  for (const auto& r : result.history) {
    ASSERT_TRUE(r.val_metric.has_value());
    best = std::max(best, *r.val_metric);
  }
  EXPECT_EQ(*result.best_val_metric, best);
  EXPECT_EQ(*result.history[result.best_epoch - 1].val_metric, best);
  ASSERT_TRUE(fs::exists(out / "checkpoints/best.pt"));
  // Atomic writes leave exactly the two checkpoints, no temporaries.
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(out / "checkpoints")) files.insert(entry.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"best.pt", "last.pt"}));
  // The final model holds the best epoch's weights: its validation AUC is the best one.
  const auto table = predict(model, val, predict_options_from(o));
  EXPECT_DOUBLE_EQ(metrics::roc_auc(table.labels, table.scores), best);
  // load_model_weights gives the same model.
  ModelHandle reloaded = make_model(77);
  load_model_weights(reloaded, out / "checkpoints/best.pt", "cpu");
  EXPECT_EQ(predict(reloaded, val, predict_options_from(o)).scores, table.scores);
  EXPECT_TRUE(read_log(out / "train_log.jsonl")[0].contains("val_auc"));
  fs::remove_all(out);
}

TEST(Trainer, NanLossNamesEpochAndStep) {
  struct NanInjector : BatchTransform {
    void apply(Batch& batch, std::mt19937_64&) const override {
      if (batch.epoch == 1 && batch.batch_index == 2) batch.images.fill_(std::nan(""));
    }
  };
  const VectorSampleSource train = make_toy(64, 10);
  TrainerOptions o = small_options();
  Trainer trainer(o);
  trainer.add_batch_transform(std::make_shared<NanInjector>());
  ModelHandle model = make_model(1);
  expect_run_error([&] { trainer.fit(model, train, nullptr, {}); }, "loss is nan at epoch 2 step 3");

  // An infinite loss from a step hook is caught the same way.
  struct InfiniteLoss : TrainStepHook {
    torch::Tensor loss(ModelHandle& m, Batch& batch, const Criterion& criterion, StepContext&) override {
      return criterion(m.forward(batch.images), batch.targets) + std::numeric_limits<double>::infinity();
    }
  };
  Trainer inf_trainer(o);
  inf_trainer.set_step_hook(std::make_shared<InfiniteLoss>());
  expect_run_error([&] { inf_trainer.fit(model, train, nullptr, {}); }, "loss is inf at epoch 1 step 1");
}

TEST(Trainer, LrThroughTrainerFollowsSchedule) {
  const VectorSampleSource train = make_toy(48, 11);
  TrainerOptions o = small_options();
  o.epochs = 3;
  o.warmup_epochs = 1.0;
  o.lr = 0.01;
  std::vector<double> lrs;
  Trainer trainer(o);
  trainer.set_progress_callback([&](const ProgressInfo& p) {
    EXPECT_EQ(p.global_step, static_cast<long>(lrs.size()) + 1);
    EXPECT_EQ(p.total_steps, 9);
    lrs.push_back(p.lr);
  });
  ModelHandle model = make_model(2);
  trainer.fit(model, train, nullptr, {});
  ASSERT_EQ(lrs.size(), 9u);  // 3 steps per epoch
  const LrSchedule schedule(o, 3);
  for (long s = 0; s < 9; ++s) EXPECT_DOUBLE_EQ(lrs[s], schedule.at(s));
  EXPECT_NEAR(lrs[0], 0.01 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(lrs[2], 0.01);
  EXPECT_NEAR(lrs[6], 0.005 * (1.0 + std::cos(M_PI * 3.0 / 6.0)), 1e-15);
}

TEST(Trainer, BatchAndStepHooksSeeMixedTargets) {
  struct RecordingHook : TrainStepHook {
    int calls = 0;
    int soft_batches = 0;
    torch::Tensor loss(ModelHandle& model, Batch& batch, const Criterion& criterion, StepContext& ctx) override {
      ++calls;
      EXPECT_NE(ctx.rng, nullptr);
      EXPECT_EQ(batch.targets.size(1), 2);
      // Mixed targets are no longer the one-hot labels (rows paired with a different label).
      const torch::Tensor one_hot = torch::zeros_like(batch.targets).scatter_(1, batch.labels.unsqueeze(1), 1.0);
      if ((batch.targets - one_hot).abs().max().item<double>() > 1e-3) ++soft_batches;
      return criterion(model.forward(batch.images), batch.targets);
    }
  };
  const VectorSampleSource train = make_toy(64, 12);
  TrainerOptions o = small_options();
  o.epochs = 2;
  auto mixup = std::make_shared<FlipMixup>();
  auto hook = std::make_shared<RecordingHook>();
  Trainer trainer(o);
  trainer.add_batch_transform(mixup);
  trainer.set_step_hook(hook);
  ModelHandle model = make_model(4);
  trainer.fit(model, train, nullptr, {});
  EXPECT_EQ(mixup->calls.load(), 8);
  EXPECT_EQ(hook->calls, 8);
  EXPECT_EQ(hook->soft_batches, 8);
}

TEST(Trainer, RecordsDataWaitFraction) {
  // A slow source read on the training thread (workers = 0): most step time is waiting.
  struct SlowSource : SampleSource {
    const VectorSampleSource& inner;
    explicit SlowSource(const VectorSampleSource& s) : inner(s) {}
    std::size_t size() const override { return inner.size(); }
    Sample get(std::size_t i) const override {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      return inner.get(i);
    }
  };
  const VectorSampleSource toy = make_toy(32, 13);
  const SlowSource slow(toy);
  TrainerOptions o = small_options();
  o.epochs = 1;
  o.workers = 0;
  const fs::path out = scratch("wait");
  ModelHandle model = make_model(5);
  const TrainResult result = Trainer(o).fit(model, slow, nullptr, out);
  ASSERT_EQ(result.history.size(), 1u);
  EXPECT_GT(result.history[0].data_wait_fraction, 0.5);
  EXPECT_LE(result.history[0].data_wait_fraction, 1.0);
  const auto log = read_log(out / "train_log.jsonl");
  EXPECT_DOUBLE_EQ(log[0]["data_wait_fraction"].get<double>(), result.history[0].data_wait_fraction);
  fs::remove_all(out);
}

TEST(Trainer, SoftTargetCrossEntropyMatchesTorchLabelSmoothing) {
  torch::manual_seed(0);
  const torch::Tensor logits = torch::randn({6, 3});
  const torch::Tensor labels = torch::tensor({0, 2, 1, 1, 0, 2}, torch::kInt64);
  const torch::Tensor one_hot = torch::zeros({6, 3}).scatter_(1, labels.unsqueeze(1), 1.0);
  for (double eps : {0.0, 0.1, 0.3}) {
    const torch::Tensor expected = torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(eps));
    EXPECT_NEAR(soft_target_cross_entropy(logits, one_hot, eps).item<double>(), expected.item<double>(), 1e-6);
  }
  EXPECT_THROW(soft_target_cross_entropy(logits, torch::zeros({6, 2})), RunError);
}

TEST(Trainer, BadInputsGiveClearErrors) {
  const VectorSampleSource train = make_toy(20, 14);
  ModelHandle model = make_model(6);
  {
    TrainerOptions o = small_options();
    o.batch_size = 32;  // > 20 with drop_last
    EXPECT_THROW(Trainer(o).fit(model, train, nullptr, {}), ConfigError);
  }
  {
    TrainerOptions o = small_options();
    o.model_selection = "best";
    EXPECT_THROW(Trainer(o).fit(model, train, nullptr, {}), ConfigError);
  }
  {
    TrainerOptions o = small_options();
    o.device = "cuda";
    if (!torch::cuda::is_available()) EXPECT_THROW(Trainer(o).fit(model, train, nullptr, {}), RunError);
  }
  {
    TrainerOptions o = small_options();
    o.device = "cpu:zero";
    EXPECT_THROW(Trainer(o).fit(model, train, nullptr, {}), ConfigError);
  }
  // One bad sample appended to a good set: wrong label, then wrong image size.
  TrainerOptions o17 = small_options();
  o17.batch_size = 17;
  {
    VectorSampleSource bad_label = make_toy(16, 15);
    Sample s = bad_label.get(0);
    s.label = 2;
    s.id = "bad_label";
    bad_label.add(s);
    expect_run_error([&] { Trainer(o17).fit(model, bad_label, nullptr, {}); }, "bad_label");
  }
  {
    VectorSampleSource mixed = make_toy(16, 16);
    Sample s = mixed.get(0);
    s.image = Image(1, 8, 8, 0.5f);
    s.id = "small_image";
    mixed.add(s);
    expect_run_error([&] { Trainer(o17).fit(model, mixed, nullptr, {}); }, "small_image");
  }
  {
    // A LibTorch failure inside the step (here: a hook feeding a wrongly shaped tensor)
    // comes back as a RunError naming the epoch and step.
    struct WrongShape : TrainStepHook {
      torch::Tensor loss(ModelHandle& m, Batch& batch, const Criterion& criterion, StepContext&) override {
        return criterion(m.forward(batch.images.flatten(1)), batch.targets);
      }
    };
    Trainer trainer(small_options());
    trainer.set_step_hook(std::make_shared<WrongShape>());
    expect_run_error([&] { trainer.fit(model, train, nullptr, {}); }, "LibTorch failed at epoch 1 step 1");
  }
  {
    VectorSampleSource empty;
    EXPECT_THROW(Trainer(small_options()).fit(model, empty, nullptr, {}), RunError);
  }
  {
    ModelHandle none;
    EXPECT_THROW(Trainer(small_options()).fit(none, train, nullptr, {}), ConfigError);
  }
  EXPECT_THROW(load_model_weights(model, "/nonexistent/best.pt", "cpu"), RunError);
  {
    const fs::path dir = scratch("corrupt");
    std::ofstream(dir / "last.pt") << "not a checkpoint";
    EXPECT_THROW(load_model_weights(model, dir / "last.pt", "cpu"), RunError);
    fs::remove_all(dir);
  }
}
