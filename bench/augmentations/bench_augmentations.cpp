// Per-sample AutoAugment and per-batch AFA / Mix-up cost on one thread (the loader's
// per-image budget; targets in bench/augmentations/README.md).
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "augmentations/core/afa.h"
#include "augmentations/core/autoaugment.h"
#include "augmentations/core/mixup.h"

namespace frerec::augmentations {
namespace {

Image random_image(int channels, int size) {
  Image image(channels, size, size);
  std::mt19937_64 rng(1);
  for (float& v : image.data) v = static_cast<float>(rng() >> 40) / static_cast<float>(1 << 24);
  return image;
}

// Whole transform (float → uint8 → sampled sub-policy → float) per image.
void BM_AutoAugmentTransform(benchmark::State& state) {
  const Image image = random_image(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const AutoAugmentTransform transform("imagenet");
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    Image copy = image;
    transform.apply(copy, rng);
    benchmark::DoNotOptimize(copy.data.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AutoAugmentTransform)->Args({1, 64})->Args({3, 64})->Args({3, 224});

// The most expensive op (rotate) alone.
void BM_Rotate(benchmark::State& state) {
  const ByteImage image = to_bytes(random_image(3, static_cast<int>(state.range(0))));
  for (auto _ : state) benchmark::DoNotOptimize(tvf::rotate(image, 17.0).data.data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Rotate)->Arg(64)->Arg(224);

void BM_AfaBatch(benchmark::State& state) {
  at::set_num_threads(1);
  const auto n = state.range(0), c = state.range(1), s = state.range(2);
  const at::Tensor images = at::rand({n, c, s, s});
  const AfaBatchTransform transform(AfaOptions{});
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    train::Batch batch;
    batch.images = images;
    transform.apply(batch, rng);
    benchmark::DoNotOptimize(batch.extra["afa"].data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AfaBatch)->Args({32, 1, 64})->Args({32, 3, 64})->Args({32, 3, 224});

void BM_MixupBatch(benchmark::State& state) {
  at::set_num_threads(1);
  const auto n = state.range(0);
  const at::Tensor images = at::rand({n, 3, 64, 64});
  const MixupTransform transform(0.2);
  std::mt19937_64 rng(4);
  for (auto _ : state) {
    train::Batch batch;
    batch.images = images;
    batch.targets = at::zeros({n, 2});
    transform.apply(batch, rng);
    benchmark::DoNotOptimize(batch.images.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_MixupBatch)->Arg(32);

}  // namespace
}  // namespace frerec::augmentations

BENCHMARK_MAIN();
