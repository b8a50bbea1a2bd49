// Entry points the `frerec` program calls: registration of every component, runtime
// set-up (threads, device) and report building.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "framework/core/context.h"

namespace frerec::experiments {

// Registers every library's components and the config sections (idempotent).
void register_all();

// Applies --threads (LibTorch intra-op and FFTW threads) and resolves --device
// ("auto" → "cuda" when available, else "cpu"; "cuda" without CUDA → ConfigError).
RunContext configure_runtime(int threads, const std::string& device, const std::filesystem::path& cache_dir,
                             const std::filesystem::path& results_dir);

// `frerec --version` and `frerec info system`: frerec version and commit; the LibTorch
// version and whether it was built with CUDA (CUDA and cuDNN versions, usable devices);
// OpenCV, FFTW and HDF5 versions; cores. The CUDA facts also go to record.json (one source:
// library_versions()).
std::string system_report();

// Rebuilds every table and figure of results/<experiment> from its records alone.
// Returns the files written, one per line.
std::string build_reports(const std::filesystem::path& experiment_dir);

// `run --dry-run`: what the datasets of these cell configs hold, per split and class, once
// per distinct `data` section (sources opened and sampled, nothing decoded). A dataset that
// cannot be opened gets a line saying why (the listing itself still succeeds).
std::string describe_datasets(const std::vector<const YAML::Node*>& cell_configs);

// Before `run` starts a cell: what the data sections alone reveal (a folder loader with an
// empty data.root or data.synthetic.root) throws ConfigError (exit 2). Cheap: nothing is
// listed or decoded.
void check_datasets(const std::vector<const YAML::Node*>& cell_configs);

}  // namespace frerec::experiments
