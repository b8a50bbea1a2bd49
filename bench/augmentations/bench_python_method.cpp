// Overhead of a Python method (augmentations/python): images/s of one training epoch of the
// demo cell's setting — ResNet-18 (the demo's CPU backbone) on 256 gray 64×64 images, batch
// 32, AdamW, two loader threads, the shared base augmentation (flips, crop) — with
//   0: the built-in `raw` (base augmentation only),
//   1: `python` with a no-op augment() (bench/augmentations/noop_method.py): the cost of the
//      embedded call (GIL, zero-copy numpy views, numpy Generator, checks, copy back),
//   2: `python` with examples/python_methods/random_erasing.py (a realistic method).
// Target (bench/augmentations/README.md): the no-op at most 5% slower than raw.
// BM_PythonBatchCall times the call alone (per batch), which the epoch numbers on a loaded
// shared machine cannot resolve to a few percent.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <random>

#include "augmentations/method.h"
#include "augmentations/python/embedded.h"
#include "augmentations/python/python_method.h"
#include "framework/train/trainer.h"
#include "models/classifiers/classifier.h"
#include "models/classifiers/registry.h"

using namespace frerec;

namespace {

train::VectorSampleSource make_images(int n, int size) {
  std::mt19937_64 rng(1);
  train::VectorSampleSource source;
  for (int i = 0; i < n; ++i) {
    train::Sample s;
    s.label = i % 2;
    s.id = std::to_string(i);
    s.image = Image(1, size, size);
    for (float& v : s.image.data) v = static_cast<float>(rng() >> 40) / static_cast<float>(1 << 24);
    source.add(std::move(s));
  }
  return source;
}

std::shared_ptr<const augmentations::python::PythonFunction> load(const std::string& relative, const char* params) {
  augmentations::python::PythonSource source;
  source.file = std::string(FREREC_SOURCE_DIR) + "/" + relative;
  return std::make_shared<const augmentations::python::PythonFunction>(source, YAML::Load(params),
                                                                       std::filesystem::path());
}

void BM_TrainEpochWithMethod(benchmark::State& state) {
  const int method = static_cast<int>(state.range(0));
  models::register_classifiers();
  augmentations::register_all();
  torch::set_num_threads(2);
  const train::VectorSampleSource data = make_images(256, 64);
  train::TrainerOptions o;
  o.epochs = 1;
  o.batch_size = 32;
  o.workers = 2;
  o.prefetch = 4;
  o.warmup_epochs = 0.0;
  o.threads = 2;
  o.num_classes = 2;
  const config::Params section(
      augmentations::method_section_schema().validate(YAML::Node(), "method", config::Provenance()), "method");
  std::shared_ptr<const augmentations::python::PythonFunction> function;
  if (method == 1) function = load("bench/augmentations/noop_method.py", "{}");
  if (method == 2) function = load("examples/python_methods/random_erasing.py", "{p: 0.5}");
  YAML::Node model_params;
  model_params["in_channels"] = 1;
  model_params["image_size"] = 64;
  model_params["num_classes"] = 2;
  for (auto _ : state) {
    train::seed_global_torch(0);
    auto classifier = models::create_classifier("resnet18", model_params);
    train::ModelHandle model = train::make_model_handle(classifier);
    train::Trainer trainer(o);
    augmentations::add_base_transforms(trainer, section);
    if (function) trainer.add_batch_transform(std::make_shared<augmentations::PythonBatchTransform>(function));
    trainer.fit(model, data, nullptr, {});
  }
  state.SetItemsProcessed(state.iterations() * 256);
  state.SetLabel(method == 0 ? "raw" : method == 1 ? "python no-op" : "python random_erasing");
}
BENCHMARK(BM_TrainEpochWithMethod)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

// The call alone: one batch transform on a demo batch (32×1×64×64) on the calling thread —
// GIL, views, Generator, checks and the copy back — without training around it.
void BM_PythonBatchCall(benchmark::State& state) {
  const bool erasing = state.range(0) == 1;
  const auto function = erasing ? load("examples/python_methods/random_erasing.py", "{p: 0.5}")
                                : load("bench/augmentations/noop_method.py", "{}");
  const augmentations::PythonBatchTransform transform(function);
  train::Batch base;
  base.images = torch::rand({32, 1, 64, 64});
  base.labels = torch::arange(32, torch::kLong).remainder(2);
  base.targets = torch::one_hot(base.labels, 2).to(torch::kFloat);
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    train::Batch batch = base;
    transform.apply(batch, rng);
    benchmark::DoNotOptimize(batch.images.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * 32);
  state.SetLabel(erasing ? "python random_erasing" : "python no-op");
}
BENCHMARK(BM_PythonBatchCall)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
