// Train-step time and inference throughput of the FreRec DAE (targets: bench/restoration/README.md).
// Arguments: config (0 = CPU config, 1 = paper config, 3 = demo config), image side, channels,
// batch. FESA on. Counters: GFLOP per image from the analytic cost model
// (forward_cost: 2·(conv + attention MACs) + FESA FFTs; a train step counts 3x forward).
#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <cstdlib>

#include "augmentations/frerec/rhm_loss.h"
#include "models/restoration/restormer.h"

namespace frerec::restoration {
namespace {

RestormerOptions bench_options(int64_t config, int64_t channels = 1) {
  RestormerOptions o = config == 0 ? cpu_dae_options() : config == 3 ? demo_dae_options() : paper_dae_options();
  o.in_channels = o.out_channels = static_cast<int>(channels);
  return o;
}

int bench_threads() {
  const char* env = std::getenv("FREREC_BENCH_THREADS");
  return env ? std::atoi(env) : 2;
}

void BM_DaeInference(benchmark::State& state) {
  torch::set_num_threads(bench_threads());
  const int64_t channels = state.range(2), batch = state.range(3);
  const auto options = bench_options(state.range(0), channels);
  const int side = static_cast<int>(state.range(1));
  Restormer net(options);
  initialize_parameters(*net, 0);
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = at::rand({batch, channels, side, side});
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(x));
  const auto cost = forward_cost(options, side, side);
  state.counters["img/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
  state.counters["GFLOP/img"] = cost.total_flops() / 1e9;
  state.counters["params"] = static_cast<double>(count_parameters(net));
}

void BM_DaeTrainStep(benchmark::State& state) {
  torch::set_num_threads(bench_threads());
  const int64_t channels = state.range(2), batch = state.range(3);
  const auto options = bench_options(state.range(0), channels);
  const int side = static_cast<int>(state.range(1));
  Restormer net(options);
  initialize_parameters(*net, 0);
  net->train();
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(3e-4).weight_decay(1e-4));
  auto x = at::rand({batch, channels, side, side}), target = at::rand({batch, channels, side, side});
  for (auto _ : state) {
    optimizer.zero_grad();
    auto loss = rhm::reconstruction_loss(net->forward(x), target, 1.0, rhm::SpectralLoss::kAmplitude).total;
    loss.backward();
    optimizer.step();
  }
  state.counters["GFLOP/step"] = 3 * static_cast<double>(batch) * forward_cost(options, side, side).total_flops() / 1e9;
}

// Arguments: config (0 CPU, 1 paper, 3 demo), side, channels, batch.
BENCHMARK(BM_DaeInference)
    ->ArgsProduct({{0, 3}, {64}, {1, 3}, {1, 8, 32}})
    ->Args({0, 128, 1, 1})
    ->Args({0, 256, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_DaeInference)->Args({1, 64, 1, 1})->Args({1, 128, 1, 1})->Args({1, 256, 1, 1})->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_DaeTrainStep)
    ->ArgsProduct({{0, 3}, {32, 64}, {1, 3}, {1, 4}})
    ->Args({0, 128, 1, 1})
    ->Args({0, 256, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_DaeTrainStep)->Args({1, 64, 1, 1})->Args({1, 128, 1, 1})->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_DaeTrainStep)->Args({1, 256, 1, 1})->Unit(benchmark::kMillisecond)->Iterations(1);

// Analytic cost only (no timing): conv/attention MACs per image, incl. the official Restormer check.
void BM_CostModel(benchmark::State& state) {
  const int64_t config = state.range(0);
  const RestormerOptions options = config == 2 ? official_restormer_options() : bench_options(config);
  const int side = static_cast<int>(state.range(1));
  ForwardCost cost;
  for (auto _ : state) benchmark::DoNotOptimize(cost = forward_cost(options, side, side));
  state.counters["conv_GMAC"] = cost.conv_macs / 1e9;
  state.counters["attn_GMAC"] = cost.attention_macs / 1e9;
  state.counters["fft_GFLOP"] = cost.fft_flops / 1e9;
}
BENCHMARK(BM_CostModel)->ArgsProduct({{0, 1, 2}, {64, 128, 256}})->Iterations(1);

}  // namespace
}  // namespace frerec::restoration

BENCHMARK_MAIN();
