#include "experiments/register.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <mutex>
#include <set>
#include <thread>

#include "framework/core/error.h"
#ifdef HAVE_FREREC_DATASETS
#include "datasets/dataset.h"
#endif
#include "framework/core/system_info.h"

namespace frerec::experiments {

void register_components();  // components.cpp: each library's register function

void register_all() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_library_version("libtorch", TORCH_VERSION);
    register_components();
  });
}

RunContext configure_runtime(int threads, const std::string& device, const std::filesystem::path& cache_dir,
                             const std::filesystem::path& results_dir) {
  RunContext context;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads < 0) throw ConfigError("--threads " + std::to_string(threads) + " must be >= 1 (0 = all cores)");
  context.threads = threads == 0 ? cores : threads;
  at::set_num_threads(context.threads);
  if (device == "auto") {
    context.device = torch::cuda::is_available() ? "cuda" : "cpu";
  } else if (device == "cuda") {
    if (!torch::cuda::is_available())
      throw ConfigError("--device cuda: this LibTorch build has no usable CUDA device (use --device cpu or auto)");
    context.device = "cuda";
  } else if (device == "cpu") {
    context.device = "cpu";
  } else {
    throw ConfigError("--device '" + device + "' must be cpu, cuda or auto");
  }
  context.cache_dir = cache_dir;
  context.results_dir = results_dir;
  return context;
}

std::string describe_datasets(const std::vector<const YAML::Node*>& cell_configs) {
  std::string text;
#ifdef HAVE_FREREC_DATASETS
  std::set<std::string> seen;
  for (const YAML::Node* config : cell_configs) {
    const YAML::Node data = (*config)["data"];
    if (!data || !seen.insert(YAML::Dump(data)).second) continue;
    try {
      text += datasets::describe_data(config::Params(data, "data"));
    } catch (const std::exception& e) {
      text += fmt::format("data {}: not opened: {}\n", data["name"].as<std::string>(""), e.what());
    }
  }
#endif
  return text;
}

void check_datasets(const std::vector<const YAML::Node*>& cell_configs) {
#ifdef HAVE_FREREC_DATASETS
  std::set<std::string> seen;
  for (const YAML::Node* config : cell_configs) {
    const YAML::Node data = (*config)["data"];
    if (data && seen.insert(YAML::Dump(data)).second) datasets::check_data_section(config::Params(data, "data"));
  }
#endif
}

}  // namespace frerec::experiments
