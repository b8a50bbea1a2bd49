#include "framework/runner/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "framework/core/error.h"
#include "framework/core/file_lock.h"
#include "framework/runner/record.h"
#include "framework/runner/runner.h"

namespace frerec {
namespace fs = std::filesystem;

const char* to_string(CellState state) {
  switch (state) {
    case CellState::done: return "done";
    case CellState::failed: return "failed";
    case CellState::running: return "running";
    case CellState::pending: return "pending";
  }
  return "pending";
}

std::size_t ExperimentStatus::count(CellState state) const {
  return static_cast<std::size_t>(
      std::count_if(cells.begin(), cells.end(), [&](const CellStatus& cell) { return cell.state == state; }));
}

nlohmann::json ExperimentStatus::to_json() const {
  nlohmann::json counts = {{"total", cells.size()}};
  nlohmann::json list = nlohmann::json::array();
  for (const CellState state : {CellState::done, CellState::failed, CellState::running, CellState::pending})
    counts[to_string(state)] = count(state);
  for (const auto& cell : cells) {
    nlohmann::json item = {{"index", cell.index}, {"cell", cell.id}, {"state", to_string(cell.state)}};
    if (!cell.detail.empty()) item[cell.state == CellState::failed ? "error" : "owner"] = cell.detail;
    list.push_back(item);
  }
  return {{"experiment", experiment}, {"counts", counts}, {"cells", list}};
}

std::string ExperimentStatus::to_text() const {
  std::string text = fmt::format("{}: {} cells: {} done, {} failed, {} running, {} pending\n", experiment,
                                 cells.size(), count(CellState::done), count(CellState::failed),
                                 count(CellState::running), count(CellState::pending));
  for (const auto& cell : cells)
    text += fmt::format("  [{}] {}  {}{}\n", cell.index, cell.id, to_string(cell.state),
                        cell.detail.empty() ? std::string() : ": " + cell.detail);
  return text;
}

namespace {

struct PlannedCell {
  std::size_t index = 0;
  std::string hash;
};

// Cell id -> (index, config hash) from the plan*.json listings, oldest first so that newer
// listings win.
std::map<std::string, PlannedCell> planned_cells(const fs::path& dir, std::string* experiment) {
  std::map<std::string, PlannedCell> cells;
  for (const auto& path : plan_listing_files(dir)) {
    const auto plan = read_json_file(path);
    if (!plan || !plan->is_object() || !plan->contains("cells") || !(*plan)["cells"].is_array()) continue;
    if (plan->value("experiment", nlohmann::json()).is_string()) *experiment = (*plan)["experiment"];
    for (const auto& cell : (*plan)["cells"]) {
      if (!cell.is_object() || !cell.value("cell", nlohmann::json()).is_string() ||
          !cell.value("config_hash", nlohmann::json()).is_string() ||
          !cell.value("index", nlohmann::json()).is_number_unsigned())
        continue;
      cells[cell["cell"].get<std::string>()] = {cell["index"].get<std::size_t>(), cell["config_hash"].get<std::string>()};
    }
  }
  return cells;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

ExperimentStatus experiment_status(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ConfigError("status: '" + dir.string() + "' is not a results folder (expected results/<experiment>)");
  ExperimentStatus status;
  status.experiment = dir.filename().string();
  const auto planned = planned_cells(dir, &status.experiment);
  if (planned.empty())
    throw ConfigError("status: '" + dir.string() +
                      "' holds no plan listing (plan.json); `frerec run CONFIG` or `frerec slurm CONFIG` writes it");
  for (const auto& [id, plan] : planned) {
    CellStatus cell;
    cell.index = plan.index;
    cell.id = id;
    const fs::path cell_dir = dir / id;
    if (lock_is_held(cell_dir / kCellLockFile)) {
      cell.state = CellState::running;
      cell.detail = cell_lock_owner(cell_dir);
    } else if (cell_is_done(cell_dir, plan.hash)) {
      cell.state = CellState::done;
    } else if (const auto error = read_json_file(cell_dir / "error.json");
               error && error->is_object() && error->value("config_hash", "") == plan.hash) {
      cell.state = CellState::failed;
      cell.detail = first_line(error->value("message", "(no message)"));
    }
    status.cells.push_back(cell);
  }
  std::sort(status.cells.begin(), status.cells.end(),
            [](const CellStatus& a, const CellStatus& b) { return a.index < b.index || (a.index == b.index && a.id < b.id); });
  return status;
}

}  // namespace frerec
