// Feature-space analysis timings: exact t-SNE (1000 iterations, sklearn's schedule) at
// N = 1000 and 4000 with d = 64; Fréchet distance at n = 2000 with d = 512 and 1024 (and the
// Gram route, n = 500, d = 2048); precision/recall and the logistic probe at n = 2000, d = 512.
// Targets and measured numbers in bench/analysis/README.md.
#include <benchmark/benchmark.h>

#include <ctime>

#include "framework/analysis/analysis.h"
#include "tests/analysis/features.h"

namespace {

namespace an = frerec::analysis;
using an::testing::blobs;
using an::testing::correlated;

// Process CPU seconds (all threads) of the timed loop, per iteration.
class CpuTimer {
 public:
  CpuTimer() : start_(std::clock()) {}
  double seconds() const { return static_cast<double>(std::clock() - start_) / CLOCKS_PER_SEC; }

 private:
  std::clock_t start_;
};

// Args: N, threads. d = 64, ten blobs, perplexity 30, 1000 iterations.
void BM_Tsne(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const an::Matrix x = blobs(1, n, 64, 10, 2.0);
  an::TsneOptions options;
  options.threads = static_cast<int>(state.range(1));
  int iterations = 0;
  double kl = 0.0;
  const CpuTimer cpu;
  for (auto _ : state) {
    const an::TsneResult result = an::tsne(x, options);
    iterations = result.iterations;
    kl = result.kl_divergence;
    benchmark::DoNotOptimize(result.embedding.data.data());
  }
  state.counters["cpu_s"] = cpu.seconds() / static_cast<double>(state.iterations());
  state.counters["tsne_iterations"] = iterations;
  state.counters["kl"] = kl;
  state.counters["pairs_per_s"] = benchmark::Counter(static_cast<double>(n * n) * iterations,
                                                     benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Tsne)->Args({1000, 1})->Args({1000, 2})->Args({4000, 2})->ArgNames({"n", "threads"})
    ->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

// Times fn(a, b) on two correlated n × d sets (Args: n, d).
template <typename Fn>
void time_two_sets(benchmark::State& state, Fn&& fn) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto d = static_cast<std::size_t>(state.range(1));
  const an::Matrix a = correlated(2, n, d, 0.0, 1.0, 0.4);
  const an::Matrix b = correlated(3, n, d, 0.1, 1.1, 0.3);
  const CpuTimer cpu;
  for (auto _ : state) benchmark::DoNotOptimize(fn(a, b));
  state.counters["cpu_s"] = cpu.seconds() / static_cast<double>(state.iterations());
}

void BM_Frechet(benchmark::State& state) {
  time_two_sets(state, [](const an::Matrix& a, const an::Matrix& b) { return an::frechet_distance(a, b); });
}
BENCHMARK(BM_Frechet)->Args({2000, 512})->Args({2000, 1024})->Args({500, 2048})->ArgNames({"n", "d"})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PrecisionRecall(benchmark::State& state) {
  time_two_sets(state, [](const an::Matrix& a, const an::Matrix& b) { return an::precision_recall(a, b, 3).precision; });
}
BENCHMARK(BM_PrecisionRecall)->Args({2000, 512})->ArgNames({"n", "d"})->Unit(benchmark::kMillisecond)->UseRealTime();

// Five folds, 2 × n rows, standardised, C = 1.
void BM_LogisticProbe(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto d = static_cast<std::size_t>(state.range(1));
  const an::Matrix real = correlated(6, n, d, 0.0, 1.0, 0.4);
  const an::Matrix synthetic = correlated(7, n, d, 0.05, 1.05, 0.3);
  double auc = 0.0;
  const CpuTimer cpu;
  for (auto _ : state) auc = an::logistic_probe(real, synthetic, an::ProbeOptions{}).auc;
  state.counters["cpu_s"] = cpu.seconds() / static_cast<double>(state.iterations());
  state.counters["auc"] = auc;
}
BENCHMARK(BM_LogisticProbe)->Args({1000, 512})->ArgNames({"n", "d"})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
