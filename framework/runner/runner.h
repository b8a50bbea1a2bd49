// Runs an ExperimentPlan cell by cell (shared/DESIGN.md §5).
//
// Resume is the default: a cell whose record.json holds status "ok" and the same config
// hash is skipped. A failed cell writes error.json into its folder (and the run goes on
// unless fail_fast) and is retried next time. Every file is written atomically, and
// record.json last, so a killed process never leaves a half-finished cell that looks done.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

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
  std::vector<std::string> failed_cells;  // "id: message"
};

std::filesystem::path experiment_dir(const ExperimentPlan& plan, const RunContext& run);
RunSummary run_plan(const ExperimentPlan& plan, const RunOptions& options, RunContext& run);

// True if `dir` holds a finished record for `config_hash`.
bool cell_is_done(const std::filesystem::path& dir, const std::string& config_hash);

}  // namespace frerec
