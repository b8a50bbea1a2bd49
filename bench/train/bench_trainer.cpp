// Trainer overhead: images/s of whole training epochs (loader threads, collation, per-sample
// transform, optimiser step) for a small CNN at 64×64, batch 32, and the fraction of step
// time the training thread waits for data. Targets in bench/train/README.md.
#include <benchmark/benchmark.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <random>

#include "framework/train/trainer.h"

using namespace frerec;
using namespace frerec::train;

namespace {

struct BenchNetImpl : torch::nn::Module {
  BenchNetImpl()
      : c1(register_module("c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)))),
        b1(register_module("b1", torch::nn::BatchNorm2d(16))),
        c2(register_module("c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)))),
        b2(register_module("b2", torch::nn::BatchNorm2d(32))),
        c3(register_module("c3", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)))),
        fc(register_module("fc", torch::nn::Linear(64, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = torch::max_pool2d(torch::relu(b1(c1(x))), 2);
    h = torch::max_pool2d(torch::relu(b2(c2(h))), 2);
    h = torch::relu(c3(h));
    return fc(h.mean({2, 3}));
  }
  torch::nn::Conv2d c1;
  torch::nn::BatchNorm2d b1;
  torch::nn::Conv2d c2;
  torch::nn::BatchNorm2d b2;
  torch::nn::Conv2d c3;
  torch::nn::Linear fc;
};
TORCH_MODULE(BenchNet);

// A per-sample transform of realistic cost: random flip plus Gaussian pixel noise.
struct FlipNoise : SampleTransform {
  void apply(Image& image, std::mt19937_64& rng) const override {
    std::normal_distribution<float> noise(0.0f, 0.02f);
    const bool flip = (rng() & 1u) != 0;
    for (int y = 0; y < image.height; ++y) {
      float* row = &image.at(0, y, 0);
      if (flip) std::reverse(row, row + image.width);
      for (int x = 0; x < image.width; ++x) row[x] = std::clamp(row[x] + noise(rng), 0.0f, 1.0f);
    }
  }
};

VectorSampleSource make_images(int n, int size) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  VectorSampleSource source;
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.label = i % 2;
    s.id = std::to_string(i);
    s.image = Image(1, size, size);
    for (float& v : s.image.data) v = uniform(rng);
    source.add(std::move(s));
  }
  return source;
}

void BM_TrainEpoch(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  torch::set_num_threads(2);
  const VectorSampleSource data = make_images(256, 64);
  TrainerOptions o;
  o.epochs = 1;
  o.batch_size = 32;
  o.workers = workers;
  o.prefetch = 4;
  o.warmup_epochs = 0.0;
  o.threads = 2;
  double wait = 0.0, steady = 0.0;
  long epochs = 0;
  for (auto _ : state) {
    seed_global_torch(0);
    ModelHandle model = make_model_handle(BenchNet());
    Trainer trainer(o);
    trainer.add_sample_transform(std::make_shared<FlipNoise>());
    const TrainResult r = trainer.fit(model, data, nullptr, {});
    wait += r.history[0].data_wait_fraction;
    steady += r.history[0].data_wait_fraction_steady;
    ++epochs;
  }
  state.SetItemsProcessed(state.iterations() * 256);
  state.counters["data_wait"] = wait / static_cast<double>(epochs);
  state.counters["data_wait_steady"] = steady / static_cast<double>(epochs);
}
BENCHMARK(BM_TrainEpoch)->Arg(0)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
