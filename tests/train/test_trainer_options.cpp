// Torch-free parts of framework/train: options/schema, LR schedule, ordered prefetcher, seeds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <set>
#include <stdexcept>
#include <thread>

#include "framework/core/error.h"
#include "framework/core/random.h"
#include "framework/train/ordered_prefetcher.h"
#include "framework/train/sample_source.h"
#include "framework/train/trainer_options.h"

using namespace frerec;
using namespace frerec::train;

namespace {
TrainerOptions parse(const std::string& yaml) {
  const YAML::Node node = trainer_schema().validate(YAML::Load(yaml), "trainer", config::Provenance());
  return from_params(config::Params(node, "trainer"));
}
}  // namespace

TEST(TrainerOptions, SchemaDefaultsEqualStructDefaults) {
  const TrainerOptions parsed = parse("{}");
  const TrainerOptions defaults;
  EXPECT_EQ(parsed.optimizer, defaults.optimizer);
  EXPECT_DOUBLE_EQ(parsed.lr, defaults.lr);
  EXPECT_DOUBLE_EQ(parsed.weight_decay, defaults.weight_decay);
  EXPECT_EQ(parsed.betas, defaults.betas);
  EXPECT_EQ(parsed.epochs, defaults.epochs);
  EXPECT_EQ(parsed.steps, defaults.steps);
  EXPECT_EQ(parsed.batch_size, defaults.batch_size);
  EXPECT_EQ(parsed.eval_batch_size, defaults.eval_batch_size);
  EXPECT_DOUBLE_EQ(parsed.warmup_epochs, defaults.warmup_epochs);
  EXPECT_EQ(parsed.schedule, defaults.schedule);
  EXPECT_EQ(parsed.workers, defaults.workers);
  EXPECT_EQ(parsed.prefetch, defaults.prefetch);
  EXPECT_EQ(parsed.val_metric, defaults.val_metric);
  EXPECT_EQ(parsed.model_selection, defaults.model_selection);
  EXPECT_EQ(parsed.num_classes, defaults.num_classes);
  EXPECT_EQ(parsed.drop_last, defaults.drop_last);
  EXPECT_EQ(parsed.resume, defaults.resume);
}

TEST(TrainerOptions, ParsesEveryKey) {
  const TrainerOptions o = parse(
      "optimizer: sgd\nlr: 0.05\nweight_decay: 0.0005\nmomentum: 0.8\nnesterov: true\nbetas: [0.8, 0.99]\n"
      "epochs: 7\nsteps: 500\nbatch_size: 8\neval_batch_size: 16\ndrop_last: false\nwarmup_epochs: 0.5\nschedule: step\n"
      "min_lr: 0.001\nstep_size: 3\ngamma: 0.5\nlabel_smoothing: 0.1\ngrad_clip: 2.0\nworkers: 0\nprefetch: 2\n"
      "amp: true\nchannels_last: true\nval_metric: f1\nmodel_selection: best\nnum_classes: 3\nresume: false\n");
  EXPECT_EQ(o.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(o.lr, 0.05);
  EXPECT_DOUBLE_EQ(o.weight_decay, 0.0005);
  EXPECT_DOUBLE_EQ(o.momentum, 0.8);
  EXPECT_TRUE(o.nesterov);
  EXPECT_EQ(o.betas, (std::vector<double>{0.8, 0.99}));
  EXPECT_EQ(o.epochs, 7);
  EXPECT_EQ(o.steps, 500);
  EXPECT_EQ(o.batch_size, 8);
  EXPECT_EQ(o.eval_batch_size, 16);
  EXPECT_FALSE(o.drop_last);
  EXPECT_DOUBLE_EQ(o.warmup_epochs, 0.5);
  EXPECT_EQ(o.schedule, "step");
  EXPECT_DOUBLE_EQ(o.min_lr, 0.001);
  EXPECT_EQ(o.step_size, 3);
  EXPECT_DOUBLE_EQ(o.gamma, 0.5);
  EXPECT_DOUBLE_EQ(o.label_smoothing, 0.1);
  EXPECT_DOUBLE_EQ(o.grad_clip, 2.0);
  EXPECT_EQ(o.workers, 0);
  EXPECT_EQ(o.prefetch, 2);
  EXPECT_TRUE(o.amp);
  EXPECT_TRUE(o.channels_last);
  EXPECT_EQ(o.val_metric, "f1");
  EXPECT_EQ(o.model_selection, "best");
  EXPECT_EQ(o.num_classes, 3);
  EXPECT_FALSE(o.resume);
}

TEST(TrainerOptions, SchemaRejectsUnknownKeysAndBadChoices) {
  EXPECT_THROW(parse("optimiser: sgd"), ConfigError);
  EXPECT_THROW(parse("optimizer: adam"), ConfigError);
  EXPECT_THROW(parse("schedule: linear"), ConfigError);
  EXPECT_THROW(parse("batch_size: 0"), ConfigError);
}

TEST(TrainerOptions, ValidateRejectsInconsistentValues) {
  auto expect_bad = [](auto mutate, const std::string& key) {
    TrainerOptions o;
    mutate(o);
    try {
      validate_options(o);
      ADD_FAILURE() << "expected ConfigError for " << key;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  expect_bad([](TrainerOptions& o) { o.optimizer = "adam"; }, "optimizer=adam");
  expect_bad([](TrainerOptions& o) { o.lr = 0.0; }, "lr=0");
  expect_bad([](TrainerOptions& o) { o.lr = std::nan(""); }, "lr=");
  expect_bad([](TrainerOptions& o) { o.weight_decay = -1.0; }, "weight_decay");
  expect_bad([](TrainerOptions& o) { o.momentum = 1.0; }, "momentum");
  expect_bad([](TrainerOptions& o) { o.optimizer = "sgd"; o.nesterov = true; o.momentum = 0.0; }, "nesterov");
  expect_bad([](TrainerOptions& o) { o.betas = {0.9}; }, "betas");
  expect_bad([](TrainerOptions& o) { o.epochs = 0; }, "epochs=0");
  expect_bad([](TrainerOptions& o) { o.batch_size = 0; }, "batch_size=0");
  expect_bad([](TrainerOptions& o) { o.eval_batch_size = 0; }, "eval_batch_size=0");
  expect_bad([](TrainerOptions& o) { o.warmup_epochs = 11; }, "warmup_epochs=11");
  expect_bad([](TrainerOptions& o) { o.schedule = "poly"; }, "schedule=poly");
  expect_bad([](TrainerOptions& o) { o.min_lr = 1.0; }, "min_lr=1");
  expect_bad([](TrainerOptions& o) { o.step_size = 0; }, "step_size=0");
  expect_bad([](TrainerOptions& o) { o.gamma = 0.0; }, "gamma=0");
  expect_bad([](TrainerOptions& o) { o.label_smoothing = 1.0; }, "label_smoothing=1");
  expect_bad([](TrainerOptions& o) { o.grad_clip = -1.0; }, "grad_clip=-1");
  expect_bad([](TrainerOptions& o) { o.workers = -1; }, "workers=-1");
  expect_bad([](TrainerOptions& o) { o.prefetch = 0; }, "prefetch=0");
  expect_bad([](TrainerOptions& o) { o.val_metric = "loss"; }, "val_metric=loss");
  expect_bad([](TrainerOptions& o) { o.model_selection = "ema"; }, "model_selection=ema");
  expect_bad([](TrainerOptions& o) { o.num_classes = 1; }, "num_classes=1");
  expect_bad([](TrainerOptions& o) { o.device = "tpu"; }, "device=tpu");
  expect_bad([](TrainerOptions& o) { o.threads = -2; }, "threads=-2");
  expect_bad([](TrainerOptions& o) { o.max_epochs_this_run = -1; }, "max_epochs_this_run=-1");
}

TEST(LrSchedule, WarmupThenCosineAtSpecificSteps) {
  TrainerOptions o;
  o.lr = 0.1;
  o.epochs = 4;
  o.warmup_epochs = 1.0;
  o.schedule = "cosine";
  const LrSchedule s(o, 10);  // 40 steps, 10 warm-up
  EXPECT_EQ(s.total_steps(), 40);
  EXPECT_EQ(s.warmup_steps(), 10);
  EXPECT_DOUBLE_EQ(s.at(0), 0.01);
  EXPECT_DOUBLE_EQ(s.at(4), 0.05);
  EXPECT_DOUBLE_EQ(s.at(9), 0.1);
  EXPECT_DOUBLE_EQ(s.at(10), 0.1);
  EXPECT_NEAR(s.at(25), 0.05, 1e-15);  // halfway through the cosine
  EXPECT_NEAR(s.at(39), 0.05 * (1.0 + std::cos(M_PI * 29.0 / 30.0)), 1e-15);
  for (long step = 11; step < 40; ++step) EXPECT_LT(s.at(step), s.at(step - 1));
  o.min_lr = 0.01;
  EXPECT_NEAR(LrSchedule(o, 10).at(25), 0.01 + 0.09 * 0.5, 1e-15);
}

TEST(LrSchedule, FixedStepsSetTheLengthAndCutTheLastEpoch) {
  TrainerOptions o;
  o.lr = 0.1;
  o.epochs = 2;           // ignored once steps is set
  o.steps = 25;
  o.warmup_epochs = 1.0;  // 10 steps
  const LrSchedule s(o, 10);
  EXPECT_EQ(s.total_steps(), 25);
  EXPECT_EQ(s.warmup_steps(), 10);
  EXPECT_NEAR(s.at(24), 0.05 * (1.0 + std::cos(M_PI * 14.0 / 15.0)), 1e-15);
  EXPECT_EQ(planned_epochs(o, 10), 3);
  EXPECT_EQ(planned_steps(o, 10), 25);
  EXPECT_EQ(steps_in_epoch(o, 10, 0), 10);
  EXPECT_EQ(steps_in_epoch(o, 10, 2), 5);
  EXPECT_EQ(steps_in_epoch(o, 10, 3), 0);
  o.steps = 0;  // epochs decide again
  EXPECT_EQ(planned_epochs(o, 10), 2);
  EXPECT_EQ(planned_steps(o, 10), 20);
  EXPECT_EQ(steps_in_epoch(o, 10, 1), 10);
  // With steps, warm-up longer than `epochs` is fine (the run's length comes from steps);
  // a negative step count is not.
  o.steps = 100;
  o.warmup_epochs = 5.0;
  EXPECT_NO_THROW(validate_options(o));
  o.steps = -1;
  EXPECT_THROW(validate_options(o), ConfigError);
}

TEST(LrSchedule, WarmupStepsGiveEveryTrainingSetSizeTheSameSchedule) {
  TrainerOptions o;
  o.lr = 0.1;
  o.steps = 100;
  o.warmup_epochs = 1.0;  // counted in epochs, warm-up grows with the training set
  EXPECT_EQ(LrSchedule(o, 25).warmup_steps(), 25);
  EXPECT_EQ(LrSchedule(o, 50).warmup_steps(), 50);
  o.warmup_steps = 25;  // counted in steps: RAW (25 batches an epoch) and GDA (50) alike
  const LrSchedule raw(o, 25), gda(o, 50);
  EXPECT_EQ(raw.warmup_steps(), 25);
  EXPECT_EQ(gda.warmup_steps(), 25);
  for (long step = 0; step < 100; ++step) EXPECT_EQ(raw.at(step), gda.at(step)) << step;
  EXPECT_DOUBLE_EQ(gda.at(0), 0.004);
  EXPECT_DOUBLE_EQ(gda.at(24), 0.1);
  o.warmup_steps = 500;  // capped at the run
  EXPECT_EQ(LrSchedule(o, 25).warmup_steps(), 100);
  // Epoch-based runs: a warm-up in steps is not checked against `epochs`.
  o.steps = 0;
  o.epochs = 1;
  o.warmup_epochs = 3.0;
  EXPECT_NO_THROW(validate_options(o));
  o.warmup_steps = -1;
  EXPECT_THROW(validate_options(o), ConfigError);
}

TEST(LrSchedule, StepAndConstantAndFractionalWarmup) {
  TrainerOptions o;
  o.lr = 0.1;
  o.epochs = 6;
  o.warmup_epochs = 0.0;
  o.schedule = "step";
  o.step_size = 2;
  o.gamma = 0.5;
  const LrSchedule s(o, 10);
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(19), 0.1);
  EXPECT_DOUBLE_EQ(s.at(20), 0.05);
  EXPECT_DOUBLE_EQ(s.at(45), 0.025);
  o.schedule = "constant";
  o.warmup_epochs = 0.25;  // round(2.5) = 3 warm-up steps
  const LrSchedule c(o, 10);
  EXPECT_EQ(c.warmup_steps(), 3);
  EXPECT_NEAR(c.at(0), 0.1 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(c.at(2), 0.1);
  EXPECT_DOUBLE_EQ(c.at(59), 0.1);
}

TEST(OrderedPrefetcher, DeliversInOrderForAnyWorkerCount) {
  for (int workers : {0, 1, 3}) {
    OrderedPrefetcher<int> p(
        50,
        [](std::size_t i) {
          // Uneven work so that workers finish out of order.
          std::this_thread::sleep_for(std::chrono::microseconds((i * 37) % 300));
          return static_cast<int>(i * i);
        },
        workers, 4);
    int value = -1;
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(p.next(value));
      EXPECT_EQ(value, i * i) << "workers=" << workers;
    }
    EXPECT_FALSE(p.next(value));
  }
}

TEST(OrderedPrefetcher, NeverRunsMoreThanPrefetchAhead) {
  std::atomic<int> max_index{-1};
  OrderedPrefetcher<int> p(
      40,
      [&](std::size_t i) {
        int seen = max_index.load();
        while (static_cast<int>(i) > seen && !max_index.compare_exchange_weak(seen, static_cast<int>(i))) {
        }
        return static_cast<int>(i);
      },
      4, 3);
  int value;
  for (int consumed = 0; consumed < 40; ++consumed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // Before taking item `consumed`, workers may have started at most items < consumed + 3.
    EXPECT_LT(max_index.load(), consumed + 3);
    ASSERT_TRUE(p.next(value));
  }
}

TEST(OrderedPrefetcher, RethrowsProducerErrorsAndRecordsWait) {
  OrderedPrefetcher<int> p(
      10,
      [](std::size_t i) -> int {
        if (i == 3) throw RunError("bad sample 3");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return static_cast<int>(i);
      },
      2, 2);
  int value;
  EXPECT_THROW(
      {
        for (int i = 0; i < 10; ++i) p.next(value);
      },
      RunError);
  EXPECT_GT(p.wait_seconds(), 0.0);
}

TEST(Seeds, DerivedSeedsDifferAcrossStreamsAndIndices) {
  std::set<std::uint64_t> seen;
  for (std::uint64_t stream : {kShuffleStream, kSampleStream, kBatchStream, kStepStream, kTorchStream}) {
    for (std::uint64_t epoch = 0; epoch < 5; ++epoch) {
      for (std::uint64_t index = 0; index < 20; ++index) seen.insert(random::derive_seed(42, {stream, epoch, index}));
    }
  }
  EXPECT_EQ(seen.size(), 5u * 5u * 20u);
  EXPECT_EQ(random::derive_seed(42, {1, 2}), random::derive_seed(42, {1, 2}));
  EXPECT_NE(random::derive_seed(42, {1, 2}), random::derive_seed(43, {1, 2}));
}
