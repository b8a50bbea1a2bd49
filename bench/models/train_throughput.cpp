// Training throughput of the classifiers (CPU; FREREC_BENCH_DEVICE=cuda for a GPU): images/s of one SGD step (forward,
// cross-entropy, backward, SGD with momentum) on a batch of 32 random images, 3 channels,
// 2 classes, 2 intra-op threads. Targets in bench/models/README.md; the Python side is
// tools/bench_torch_train.py. The CPU column is the process CPU time (all threads) per
// step: on a shared, loaded machine CPU-ms per image compares better than wall-clock rates.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/nn/functional/loss.h>
#include <torch/cuda.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "models/classifiers/classifier.h"
#include "models/classifiers/registry.h"

namespace {

constexpr int64_t kBatch = 32;
// FREREC_BENCH_THREADS overrides the 2 intra-op threads (1 thread is the most robust
// comparison on a loaded machine: no OpenMP spin-waiting).
int bench_threads() {
  const char* env = std::getenv("FREREC_BENCH_THREADS");
  return env ? std::max(1, std::atoi(env)) : 2;
}

// FREREC_BENCH_ITERS overrides each benchmark's fixed iteration count (a GPU needs more).
int bench_iterations(int fixed) {
  const char* env = std::getenv("FREREC_BENCH_ITERS");
  return env ? std::max(1, std::atoi(env)) : fixed;
}

// FREREC_BENCH_DEVICE=cuda measures on the GPU (scripts/gpu_check.sh); each step then ends
// with a device synchronisation so that the time is the step's, not its launch's.
at::Device bench_device() {
  const char* env = std::getenv("FREREC_BENCH_DEVICE");
  return at::Device(env && *env ? env : "cpu");
}

void train_step(benchmark::State& state, const std::string& name, int64_t size, const std::string& extra) {
  at::set_num_threads(bench_threads());
  frerec::models::register_classifiers();
  auto model = frerec::models::create_classifier(
      name, YAML::Load("{in_channels: 3, num_classes: 2, image_size: " + std::to_string(size) + extra + "}"));
  const at::Device device = bench_device();
  model->to(device);
  model->train();
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor x = at::rand({kBatch, 3, size, size}, gen).to(device);
  at::Tensor y = at::randint(0, 2, {kBatch}, gen, at::kLong).to(device);
  auto step = [&] {
    optimizer.zero_grad();
    at::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    optimizer.step();
    if (device.is_cuda()) torch::cuda::synchronize();
    return loss;
  };
  step();  // warm-up: allocations, oneDNN primitive caches
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["img/s"] = benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                                               benchmark::Counter::kIsRate);
}

}  // namespace

#define FREREC_TRAIN_BENCH(NAME, SIZE, EXTRA, ITERS)                                              \
  BENCHMARK_CAPTURE(train_step, NAME##_##SIZE, #NAME, SIZE, EXTRA)                               \
      ->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->Iterations(bench_iterations(ITERS))

FREREC_TRAIN_BENCH(resnet18, 64, "", 10);
FREREC_TRAIN_BENCH(resnet50, 64, "", 5);
FREREC_TRAIN_BENCH(densenet121, 64, "", 5);
FREREC_TRAIN_BENCH(densenet_small, 64, "", 10);
FREREC_TRAIN_BENCH(vit_tiny, 64, ", patch_size: 8", 5);
FREREC_TRAIN_BENCH(vit_b_16, 64, ", patch_size: 16", 3);
FREREC_TRAIN_BENCH(resnet18, 224, "", 3);
FREREC_TRAIN_BENCH(resnet50, 224, "", 2);

BENCHMARK_MAIN();
