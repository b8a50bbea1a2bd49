// Where an experiment stands, read from disk only (records, error files, cell locks and the
// plan listings that `frerec run` / `frerec slurm` write): `frerec status results/<name>`.
//
// A cell of the current plan is
//   running  while some process holds its cell.lock (runner.h), whatever else is there;
//   done     when record.json has status "ok" and the plan's config hash;
//   failed   when error.json has the plan's config hash (detail: the error's first line);
//   pending  otherwise (never started, killed, or made under another config).
// The plan is the union of the plan*.json listings at the top of the folder; where two
// name the same cell the more recently written one wins (as for `frerec report`).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace frerec {

enum class CellState { done, failed, running, pending };
const char* to_string(CellState state);

struct CellStatus {
  std::size_t index = 0;
  std::string id;
  CellState state = CellState::pending;
  std::string detail;  // failed: the error's first line; running: the lock owner
};

struct ExperimentStatus {
  std::string experiment;
  std::vector<CellStatus> cells;  // by index
  std::size_t count(CellState state) const;
  nlohmann::json to_json() const;
  std::string to_text() const;  // a counts line, then one line per cell
};

// Throws ConfigError when `experiment_dir` is not a folder or holds no plan listing.
ExperimentStatus experiment_status(const std::filesystem::path& experiment_dir);

}  // namespace frerec
