// SSIM pairs per second: fast exact top-K retrieval (precomputed local statistics, one
// cross-term filter per pair) against brute-force per-pair SSIM (double, five filters per
// pair), at 64², 128² and 256², gaussian window. Targets in bench/spectral/README.md.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "framework/spectral/retrieval.h"
#include "framework/spectral/ssim.h"

namespace {

using frerec::Image;
namespace sp = frerec::spectral;

// Smooth blobs plus texture noise, in [0,1] (deterministic per seed).
Image bench_image(int size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Image img(1, size, size);
  double cx[3], cy[3], s[3];
  for (int b = 0; b < 3; ++b) {
    cx[b] = u(rng) * size;
    cy[b] = u(rng) * size;
    s[b] = (0.1 + 0.2 * u(rng)) * size;
  }
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      double v = 0.2 + 0.05 * u(rng);
      for (int b = 0; b < 3; ++b) v += 0.25 * std::exp(-((x - cx[b]) * (x - cx[b]) + (y - cy[b]) * (y - cy[b])) / (2 * s[b] * s[b]));
      img.at(0, y, x) = static_cast<float>(std::min(1.0, v));
    }
  return img;
}

std::vector<Image> bench_set(int n, int size, std::uint64_t seed) {
  std::vector<Image> out;
  for (int i = 0; i < n; ++i) out.push_back(bench_image(size, seed * 10007 + i));
  return out;
}

// Args: image size, threads, allow_avx2 (1/0). 64 queries × 128 references per iteration,
// preparation of both sets included.
void BM_RetrievalPairs(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  const auto queries = bench_set(64, size, 1);
  const auto refs = bench_set(128, size, 2);
  sp::RetrievalOptions opt;
  opt.k = 16;
  opt.threads = static_cast<int>(state.range(1));
  opt.allow_avx2 = state.range(2) != 0;
  long rescored = 0;
  for (auto _ : state) {
    const auto result = sp::top_k_ssim(queries, refs, opt);
    rescored = result.rescored_pairs;
    benchmark::DoNotOptimize(result);
  }
  state.counters["rescored"] = static_cast<double>(rescored);  // near-ties settled in double, per call
  state.counters["pairs_per_s"] =
      benchmark::Counter(static_cast<double>(queries.size() * refs.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["avx2"] = opt.allow_avx2 && sp::ssim_kernel_has_avx2() ? 1 : 0;
}
// Wall-clock rate (what a user sees; on a shared machine it depends on the other load).
BENCHMARK(BM_RetrievalPairs)
    ->ArgNames({"size", "threads", "avx2"})
    ->Args({64, 2, 1})
    ->Args({128, 2, 1})
    ->Args({256, 2, 1})
    ->Args({256, 1, 1})
    ->Args({256, 2, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// Rate per CPU-second of the whole process (all threads): robust to other load; times the
// core count gives the uncontended rate when the threads scale.
BENCHMARK(BM_RetrievalPairs)
    ->Name("BM_RetrievalPairsPerCpuSecond")
    ->ArgNames({"size", "threads", "avx2"})
    ->Args({64, 1, 1})
    ->Args({128, 1, 1})
    ->Args({256, 1, 1})
    ->Args({256, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

// Brute force: one exact double-precision SSIM per pair, single thread.
void BM_BruteForcePairs(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  const auto a = bench_set(4, size, 3);
  const auto b = bench_set(4, size, 4);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sp::ssim(a[i % 4], b[(i / 4) % 4]));
    ++i;
  }
  state.counters["pairs_per_s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BruteForcePairs)->ArgName("size")->Arg(64)->Arg(128)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
