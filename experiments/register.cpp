#include "experiments/register.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdlib>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "framework/core/error.h"
#include "datasets/dataset.h"
#include "framework/core/system_info.h"

namespace frerec::experiments {

void register_components();  // components.cpp: each library's register function

namespace {

// What this LibTorch was built with: at::hasCUDA() (CUDA hooks linked in) and the CUDA and
// cuDNN versions from its build configuration (at::show_config(): "  - CUDA Runtime 12.1",
// "  - CuDNN 8.9.2"; absent from CPU-only builds such as Debian's libtorch-dev).
struct TorchBuild {
  bool cuda = false;
  std::string cuda_version = "none";
  std::string cudnn_version = "none";
};

const TorchBuild& torch_build() {
  static const TorchBuild build = [] {
    TorchBuild b;
    b.cuda = at::hasCUDA();
    std::istringstream config(at::show_config());
    for (std::string line; std::getline(config, line);) {
      for (const auto& [prefix, target] : {std::pair<const char*, std::string*>{"  - CUDA Runtime ", &b.cuda_version},
                                           std::pair<const char*, std::string*>{"  - CuDNN ", &b.cudnn_version}})
        if (line.rfind(prefix, 0) == 0) *target = line.substr(std::string(prefix).size());
    }
    return b;
  }();
  return build;
}

}  // namespace

void register_all() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_library_version("libtorch", TORCH_VERSION);
    // One source for --version, `info system` and record.json's environment.
    register_library_version("libtorch_cuda", torch_build().cuda_version);
    register_library_version("cudnn", torch_build().cudnn_version);
    register_components();
  });
}

std::string system_report() {
  register_all();
  const TorchBuild& build = torch_build();
  std::string text = fmt::format("frerec {} (commit {}{})\n", frerec_version(), build_commit().substr(0, 12),
                                 build_dirty() ? ", with uncommitted changes" : "");
  if (!build.cuda) {
    text += fmt::format("LibTorch {}: CPU only (built without CUDA); for GPUs build against a CUDA LibTorch 2.x, see "
                        "the README section \"GPUs\"\n",
                        TORCH_VERSION);
  } else {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    const std::size_t devices = torch::cuda::device_count();
    text += fmt::format("LibTorch {}: built with CUDA {}, cuDNN {}; {} usable CUDA device{}{}\n", TORCH_VERSION,
                        build.cuda_version, build.cudnn_version, devices, devices == 1 ? "" : "s",
                        visible ? fmt::format(" (CUDA_VISIBLE_DEVICES={})", visible) : std::string());
  }
  const auto versions = library_versions();
  auto version_of = [&](const char* name) {
    const auto it = versions.find(name);
    return it == versions.end() ? std::string("?") : it->second;
  };
  text += fmt::format("OpenCV {}, FFTW {}, HDF5 {}\n", version_of("opencv"), version_of("fftw"), version_of("hdf5"));
  text += fmt::format("{} CPU cores; host {}\n", std::max(1u, std::thread::hardware_concurrency()), host_name());
  return text;
}

RunContext configure_runtime(int threads, const std::string& device, const std::filesystem::path& cache_dir,
                             const std::filesystem::path& results_dir) {
  RunContext context;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads < 0) throw ConfigError("--threads " + std::to_string(threads) + " must be >= 1 (0 = all cores)");
  context.threads = threads == 0 ? cores : threads;
  at::set_num_threads(context.threads);
  const TorchBuild& build = torch_build();
  if (device == "auto") {
    context.device = build.cuda && torch::cuda::is_available() ? "cuda" : "cpu";
    spdlog::info("device: auto chose {}: {}", context.device,
                 !build.cuda ? fmt::format("this LibTorch {} is CPU only (README \"GPUs\")", TORCH_VERSION)
                 : context.device == "cuda"
                     ? fmt::format("{} CUDA device(s) usable", torch::cuda::device_count())
                     : std::string("LibTorch has CUDA but sees no usable device (driver, CUDA_VISIBLE_DEVICES)"));
  } else if (device == "cuda") {
    if (!build.cuda)
      throw ConfigError(fmt::format("--device cuda: this build's LibTorch {} has no CUDA support (Debian's "
                                    "libtorch-dev is CPU only); build against a CUDA LibTorch 2.x as the README "
                                    "section \"GPUs\" describes, or use --device cpu",
                                    TORCH_VERSION));
    if (!torch::cuda::is_available())
      throw ConfigError(fmt::format("--device cuda: LibTorch {} has CUDA {} but sees no usable device (check the "
                                    "driver with nvidia-smi and CUDA_VISIBLE_DEVICES), or use --device cpu",
                                    TORCH_VERSION, build.cuda_version));
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

namespace {

// The distinct `data` sections of these cell configs, in cell order (a grid repeats them).
std::vector<YAML::Node> distinct_data_sections(const std::vector<const YAML::Node*>& cell_configs) {
  std::vector<YAML::Node> sections;
  std::set<std::string> seen;
  for (const YAML::Node* config : cell_configs) {
    const YAML::Node data = (*config)["data"];
    if (data && seen.insert(YAML::Dump(data)).second) sections.push_back(data);
  }
  return sections;
}

}  // namespace

std::string describe_datasets(const std::vector<const YAML::Node*>& cell_configs) {
  std::string text;
  for (const YAML::Node& data : distinct_data_sections(cell_configs)) {
    try {
      text += datasets::describe_data(config::Params(data, "data"));
    } catch (const std::exception& e) {
      text += fmt::format("data {}: not opened: {}\n", data["name"].as<std::string>(""), e.what());
    }
  }
  return text;
}

void check_datasets(const std::vector<const YAML::Node*>& cell_configs) {
  for (const YAML::Node& data : distinct_data_sections(cell_configs))
    datasets::check_data_section(config::Params(data, "data"));
}

}  // namespace frerec::experiments
