// Handlers of the `frerec` subcommands: each parses nothing itself, calls the libraries
// and returns the process exit code (shared/STYLE.md §10).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "experiments/commands.h"
#include "framework/runner/slurm.h"

namespace frerec::cli {

struct GlobalOptions {
  int threads = 0;  // 0: all cores
  std::string device = "cpu";
  std::filesystem::path cache_dir = "cache";
  std::filesystem::path results_dir = "results";
  int verbosity = 0;  // -1 quiet, 0 normal, 1 verbose
};

struct RunArgs {
  std::string config;
  std::vector<std::string> overrides;
  bool dry_run = false, fresh = false, fail_fast = false;
  bool json = false;  // --dry-run --json: the plan as JSON
  std::optional<std::size_t> cell;
  std::string frozen_plan;  // slurm/plan.json the config must still give (array tasks)
};

struct SlurmArgs {
  std::string config;
  std::vector<std::string> overrides;
  SlurmOptions options;
  bool submit = false;
};

int run_command(const GlobalOptions& global, const RunArgs& args);
int slurm_command(const GlobalOptions& global, const SlurmArgs& args);
int status_command(const GlobalOptions& global, const std::string& experiment_dir, bool json);
int report_command(const GlobalOptions& global, const std::string& experiment_dir);
int info_command(const GlobalOptions& global, const std::string& kind, const std::string& name,
                 const std::vector<std::string>& overrides);
int cache_ls_command(const GlobalOptions& global);
int cache_clear_command(const GlobalOptions& global, const std::string& older_than);
int calibrate_command(const GlobalOptions& global, experiments::CalibrateArgs args);
int spectra_command(const GlobalOptions& global, const experiments::SpectraArgs& args);
int image_quality_command(const GlobalOptions& global, const experiments::ImageQualityArgs& args);
int generator_train_command(const GlobalOptions& global, experiments::GeneratorTrainArgs args);
int generator_sample_command(const GlobalOptions& global, const experiments::GeneratorSampleArgs& args);
int datasets_export_command(const GlobalOptions& global, const std::string& name, const std::filesystem::path& out,
                            const std::vector<std::string>& overrides);

}  // namespace frerec::cli
