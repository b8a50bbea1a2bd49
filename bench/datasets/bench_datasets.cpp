// Image-cache building and streaming reads over a generated folder of PNGs
// (targets in bench/datasets/README.md). FREREC_BENCH_DATASETS_N sets the image count
// (default 20000); FREREC_BENCH_DATASETS_THREADS the decode threads (default 2).
#include <benchmark/benchmark.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "datasets/dataset.h"
#include "datasets/register.h"

namespace fs = std::filesystem;
using namespace frerec;

namespace {

long env_long(const char* name, long fallback) {
  const char* value = std::getenv(name);
  return value ? std::atol(value) : fallback;
}

double rss_mib(const char* field) {  // VmRSS or VmHWM from /proc/self/status
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::string(field).size() + 1) / 1024.0;
  return 0;
}

struct Folder {
  fs::path root;
  long count;
  Folder() {
    count = env_long("FREREC_BENCH_DATASETS_N", 20000);
    root = fs::temp_directory_path() / ("frerec_bench_datasets_" + std::to_string(count));
    const fs::path done = root / ".complete";
    if (fs::exists(done)) return;
    fs::remove_all(root);
    cv::RNG rng(1);
    for (long i = 0; i < count; ++i) {
      const fs::path dir = root / (i % 2 ? "positive" : "negative");
      fs::create_directories(dir);
      cv::Mat image(128, 128, CV_8UC1);
      rng.fill(image, cv::RNG::NORMAL, 128, 30);
      cv::imwrite((dir / (std::to_string(i) + ".png")).string(), image);
    }
    std::ofstream(done) << "ok";
  }
};

Folder& folder() {
  static Folder f;
  return f;
}

config::Params section() {
  datasets::register_all();
  return datasets::validate_data_section(
      YAML::Load("{name: image_folder, root: " + folder().root.string() +
                 ", image_size: 64, channels: 1, test_fraction: 0.0}"));
}

RunContext context(const fs::path& cache) {
  RunContext ctx;
  ctx.cache_dir = cache;
  ctx.threads = static_cast<int>(env_long("FREREC_BENCH_DATASETS_THREADS", 2));
  return ctx;
}

void BM_CacheBuild(benchmark::State& state) {
  const auto data = section();
  const fs::path cache = fs::temp_directory_path() / "frerec_bench_datasets_cache_build";
  std::size_t images = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(cache);
    state.ResumeTiming();
    const auto task = datasets::load_task(data, context(cache));
    images += task.stats.decoded;
  }
  state.SetItemsProcessed(static_cast<long>(images));
  state.counters["peak_rss_MiB"] = rss_mib("VmHWM:");
}

void BM_StreamRead(benchmark::State& state) {
  const auto data = section();
  const fs::path cache = fs::temp_directory_path() / "frerec_bench_datasets_cache_read";
  const auto task = datasets::load_task(data, context(cache));  // built once (or reused)
  const std::size_t chunk = static_cast<std::size_t>(state.range(0));
  std::size_t images = 0;
  double checksum = 0;
  const double rss_before = rss_mib("VmRSS:");
  double rss_max = rss_before;
  for (auto _ : state) {
    task.real_train.for_each_chunk(chunk, [&](std::size_t, const std::vector<Image>& batch) {
      images += batch.size();
      checksum += batch.front().data[0];
    });
    rss_max = std::max(rss_max, rss_mib("VmRSS:"));
  }
  benchmark::DoNotOptimize(checksum);
  state.SetItemsProcessed(static_cast<long>(images));
  state.counters["rss_growth_MiB"] = rss_max - rss_before;
  state.counters["set_MiB"] = task.real_train.size() * 64.0 * 64.0 * 4 / (1024.0 * 1024.0);
}

}  // namespace

BENCHMARK(BM_CacheBuild)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_StreamRead)->Arg(256)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK_MAIN();
