// Slurm job arrays for an experiment (`frerec slurm`; README "Running on a cluster").
//
// write_slurm_job freezes the plan into results/<experiment>/slurm/plan.json (every cell's
// index, id and config hash, their combined plan hash, and `array`: the indices of the
// cells still to run, done cells left out) and writes next to it
//   frerec          a private copy of the running binary (a rebuild never changes a job);
//   array.sbatch    one array task per cell to run, `%K` throttle; task i runs cell
//                   array[i] with `frerec run CONFIG ... --cell N --frozen-plan plan.json`,
//                   its stdout/stderr appended to logs/cell_<N>.out / .err;
//   report.sbatch   `frerec report`, submitted with --dependency=afterany:<array job>;
//   submit.sh       the two sbatch calls (what `frerec slurm` prints without --submit).
// An array task refuses to run when the config no longer gives the frozen plan
// (check_frozen_plan): one error naming both hashes. Cells are locked while they run
// (runner.h), so a resubmission next to a job still running never runs a cell twice.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framework/runner/plan.h"

namespace frerec {

struct SlurmOptions {
  std::string partition, time, mem, account;  // empty: the cluster's default
  int cpus_per_cell = 1;                      // --cpus-per-task, and frerec --threads
  int gpus_per_cell = 0;                      // --gres=gpu:N, and frerec --device cuda when > 0
  int max_parallel = 0;                       // array throttle %K (0: none)
  std::vector<std::string> extra;             // more #SBATCH lines ("--qos=high")
};

// What the jobs run: the binary to copy, the config and overrides, and the global options
// (absolute paths, since jobs start in another working directory on another node).
struct SlurmCommand {
  std::filesystem::path binary;
  std::filesystem::path config_file;
  std::vector<std::string> overrides;
  std::filesystem::path results_dir, cache_dir;
  std::string device = "cpu";
};

struct SlurmJob {
  std::filesystem::path dir;  // results/<experiment>/slurm
  std::size_t total_cells = 0;
  std::vector<std::size_t> array_cells;  // cell indices, one per array task
  std::string plan_hash;
  std::filesystem::path array_script, report_script, submit_script;
};

// sha256 over (index, id, config hash) of every cell, in order.
std::string plan_hash(const std::vector<ExperimentPlan>& plans);

// Validates the options (ConfigError naming the option), freezes the plan and writes the
// scripts. With no cell left to run it writes plan.json only (array_cells empty).
SlurmJob write_slurm_job(const std::string& experiment, const std::vector<ExperimentPlan>& plans,
                         const SlurmCommand& command, const SlurmOptions& options);

// Submits array.sbatch, then report.sbatch dependent on it (afterany). Returns the two job
// ids. RunError with sbatch's message when a submission fails.
std::pair<std::string, std::string> submit_slurm_job(const SlurmJob& job);

// The job id in `sbatch --parsable` output ("1234" or "1234;cluster"); ConfigError otherwise.
std::string parse_sbatch_job_id(const std::string& output);

// Throws ConfigError unless `plans` match the plan frozen in `frozen_plan_file`.
void check_frozen_plan(const std::filesystem::path& frozen_plan_file, const std::vector<ExperimentPlan>& plans);

}  // namespace frerec
