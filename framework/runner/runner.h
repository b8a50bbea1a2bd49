// Runs an ExperimentPlan cell by cell (shared/DESIGN.md §5).
//
// Resume is the default: a cell whose record.json holds status "ok" and the same config
// hash is skipped. A failed cell writes error.json into its folder (and the run goes on
// unless fail_fast) and is retried next time. Every file is written atomically, and
// record.json last, so a killed process never leaves a half-finished cell that looks done.
//
// Many workers (run_parallel.sh, a Slurm job array, a second `frerec run` of the same
// config) may share one results folder: a cell runs only while its worker holds an flock
// on <cell>/cell.lock (framework/core/file_lock.h), whose content names the holder
// ("pid P on host"). A worker that finds the lock held skips the cell and reports it as
// running elsewhere; one that gets the lock looks for a record again first, so a cell
// another worker has just finished is not run twice. The kernel drops the lock of a killed
// worker, so the next worker resumes the cell.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/core/context.h"
#include "framework/runner/plan.h"

namespace frerec {

struct RunOptions {
  bool fresh = false;       // ignore existing records
  bool fail_fast = false;   // stop at the first failed cell
  std::optional<std::size_t> cell;  // run only this cell index
};

struct RunSummary {
  std::size_t ran = 0, skipped = 0, failed = 0;
  std::size_t running_elsewhere = 0;      // cells whose lock another process holds
  std::vector<std::string> failed_cells;  // "id: message"
  std::vector<std::string> running_cells;  // "cell N is running in another process (pid P on host)"
};

// The lock file of a cell folder.
constexpr const char* kCellLockFile = "cell.lock";

std::filesystem::path experiment_dir(const ExperimentPlan& plan, const RunContext& run);
RunSummary run_plan(const ExperimentPlan& plan, const RunOptions& options, RunContext& run);

// The plan itself as results/<experiment>/<plan.listing_file> holds it, for `frerec report`,
// `frerec status` and people: experiment, kind, config_file, overrides and the cells (index,
// cell id, config_hash, coordinates). run_plan writes it before any cell runs.
nlohmann::json plan_listing(const ExperimentPlan& plan);
void write_plan_listing(const ExperimentPlan& plan, const std::filesystem::path& experiment_dir);

// The owner line of a cell's lock file ("pid P on host"; "pid unknown" when empty).
std::string cell_lock_owner(const std::filesystem::path& dir);

// True if `dir` holds a finished record for `config_hash`.
bool cell_is_done(const std::filesystem::path& dir, const std::string& config_hash);

}  // namespace frerec
