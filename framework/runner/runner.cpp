#include "framework/runner/runner.h"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/file_lock.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/runner/experiment.h"
#include "framework/runner/record.h"

namespace frerec {
namespace fs = std::filesystem;

ExperimentRegistry& experiment_registry() {
  static ExperimentRegistry registry("experiments");
  return registry;
}

fs::path experiment_dir(const ExperimentPlan& plan, const RunContext& run) { return run.results_dir / plan.name; }

bool cell_is_done(const fs::path& dir, const std::string& config_hash) {
  const auto record = read_json_file(dir / "record.json");
  return record && record->value("status", "") == "ok" && record->value("config_hash", "") == config_hash;
}

namespace {

// Sends the default logger's output to the cell's log.txt as well while a cell runs.
class CellLogSink {
 public:
  explicit CellLogSink(const fs::path& file) {
    sink_ = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), false);
    sink_->set_pattern("[%Y-%m-%d %H:%M:%S] %l %v");
    spdlog::default_logger()->sinks().push_back(sink_);
    // Every line reaches the file at once: a killed cell keeps its log up to the kill.
    previous_flush_ = spdlog::default_logger()->flush_level();
    spdlog::default_logger()->flush_on(spdlog::level::trace);
  }
  ~CellLogSink() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    spdlog::default_logger()->flush_on(previous_flush_);
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
  spdlog::level::level_enum previous_flush_ = spdlog::level::off;
};

// The config hash of the config.yaml an earlier run of the cell wrote ("" if none).
std::string previous_config_hash(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "config.yaml", ec)) return "";
  try {
    return config_hash(YAML::LoadFile((dir / "config.yaml").string()));
  } catch (const std::exception&) {
    return "";
  }
}

nlohmann::json coordinates_json(const Cell& cell) {
  nlohmann::json coordinates = nlohmann::json::object();
  for (const auto& [key, value] : cell.coordinates) coordinates[key] = value;
  return coordinates;
}

// The cell's lock, or null when another process holds it. A few short retries, so that the
// instant probe of `frerec status` (a shared lock) is not mistaken for a running worker.
std::unique_ptr<FileLock> lock_cell(const fs::path& dir) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto lock = std::make_unique<FileLock>(dir / kCellLockFile, false, "runner");
    if (lock->held()) {
      lock->write_owner(lock_owner_text());
      return lock;
    }
  }
  return nullptr;
}

}  // namespace

std::string cell_lock_owner(const fs::path& dir) {
  std::string owner;
  try {
    owner = read_file(dir / kCellLockFile);
  } catch (const std::exception&) {
  }
  while (!owner.empty() && (owner.back() == '\n' || owner.back() == '\r')) owner.pop_back();
  return owner.empty() ? "pid unknown" : owner;
}

nlohmann::json plan_listing(const ExperimentPlan& plan) {
  nlohmann::json listing = nlohmann::json::array();
  for (const auto& cell : plan.cells)
    listing.push_back({{"index", cell.index}, {"cell", cell.id}, {"config_hash", cell.config_hash},
                       {"coordinates", coordinates_json(cell)}});
  return {{"experiment", plan.name}, {"kind", plan.kind}, {"config_file", plan.config_file.string()},
          {"overrides", plan.overrides}, {"cells", listing}};
}

void write_plan_listing(const ExperimentPlan& plan, const fs::path& experiment_dir) {
  fs::create_directories(experiment_dir);
  write_json_atomic(experiment_dir / plan.listing_file, plan_listing(plan));
}

RunSummary run_plan(const ExperimentPlan& plan, const RunOptions& options, RunContext& run) {
  RunSummary summary;
  const fs::path root = experiment_dir(plan, run);
  fs::create_directories(root);

  std::vector<const Cell*> todo;
  if (options.cell) {
    const auto it = std::find_if(plan.cells.begin(), plan.cells.end(),
                                 [&](const Cell& c) { return c.index == *options.cell; });
    if (it == plan.cells.end()) {
      if (plan.cells.empty()) throw ConfigError(fmt::format("--cell {}: the grid has no cells", *options.cell));
      throw ConfigError(fmt::format("--cell {}: the grid has cells {}..{}", *options.cell, plan.cells.front().index,
                                    plan.cells.back().index));
    }
    todo.push_back(&*it);
  } else {
    for (const auto& cell : plan.cells) todo.push_back(&cell);
  }

  // Temporaries of a killed run at the top (plan listings); a minute old, so that a live
  // writer on another machine of a shared folder is never touched.
  remove_stale_temporaries(root, false, std::chrono::seconds(60));
  write_plan_listing(plan, root);

  std::vector<const Cell*> pending;
  for (const Cell* cell : todo) {
    if (!options.fresh && cell_is_done(root / cell->id, cell->config_hash)) {
      ++summary.skipped;
      spdlog::debug("cell [{}] {}: done already, skipped", cell->index, cell->id);
    } else {
      pending.push_back(cell);
    }
  }
  if (summary.skipped > 0)
    spdlog::info("{} of {} cells are done already (resume); {} to run", summary.skipped, todo.size(), pending.size());
  if (pending.empty()) return summary;

  auto experiment = experiment_registry().create(plan.kind, config::Params());
  experiment->prepare(plan, run);

  Progress overall("cells", pending.size(), false, 0.0);
  for (const Cell* cell : pending) {
    const fs::path dir = root / cell->id;
    fs::create_directories(dir);
    const std::unique_ptr<FileLock> cell_lock = lock_cell(dir);
    if (!cell_lock) {
      ++summary.running_elsewhere;
      summary.running_cells.push_back(
          fmt::format("cell {} is running in another process ({})", cell->index, cell_lock_owner(dir)));
      spdlog::warn("{}: skipped", summary.running_cells.back());
      overall.advance();
      continue;
    }
    // Another worker may have finished the cell since the listing above.
    if (!options.fresh && cell_is_done(dir, cell->config_hash)) {
      ++summary.skipped;
      spdlog::info("cell [{}] {}: finished by another process meanwhile, skipped", cell->index, cell->id);
      overall.advance();
      continue;
    }
    // What a killed earlier run of this cell was writing (the cell is ours now).
    if (const std::size_t stale = remove_stale_temporaries(dir))
      spdlog::info("cell [{}]: removed {} temporary file{} left by a killed run", cell->index, stale,
                   stale == 1 ? "" : "s");
    // A record made under another config no longer describes this cell.
    if (fs::exists(dir / "record.json")) {
      std::error_code ec;
      fs::rename(dir / "record.json", dir / "record.previous.json", ec);
    }
    // Checkpoints of an interrupted run are resumed only under the same config; with
    // --fresh or a changed config they are stale and removed.
    if (fs::exists(dir / "checkpoints") && (options.fresh || previous_config_hash(dir) != cell->config_hash)) {
      spdlog::info("cell [{}]: removing checkpoints of a {} run", cell->index, options.fresh ? "previous (--fresh)" : "differently configured");
      std::error_code ec;
      fs::remove_all(dir / "checkpoints", ec);
    }
    write_file_atomic(dir / "config.yaml", config::to_yaml(cell->config));
    YAML::Node overrides(YAML::NodeType::Map);
    for (const auto& text : plan.overrides) {
      const auto eq = text.find('=');
      overrides[text.substr(0, eq)] = text.substr(eq + 1);
    }
    for (const auto& [key, value] : cell->coordinates) overrides[key] = value;
    write_file_atomic(dir / "overrides.yaml", config::to_yaml(overrides));

    spdlog::info("cell [{}] {} ({} of {})", cell->index, cell->id, summary.ran + summary.failed + 1, pending.size());
    const std::string started = iso_time_utc();
    const auto t0 = std::chrono::steady_clock::now();
    CellContext context{*cell, config::Params(cell->config, ""), dir, run};
    try {
      nlohmann::json metrics;
      {
        CellLogSink log(dir / "log.txt");
        metrics = experiment->run(context);
      }
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      nlohmann::json record;
      record["status"] = "ok";
      record["experiment"] = plan.name;
      record["kind"] = plan.kind;
      record["cell"] = cell->id;
      record["index"] = cell->index;
      record["coordinates"] = coordinates_json(*cell);
      record["config_hash"] = cell->config_hash;
      record["metrics"] = metrics;
      record["extra"] = context.record_extra;
      record["timing"] = {{"started", started}, {"finished", iso_time_utc()}, {"wall_seconds", wall}};
      record["environment"] = environment_json(run.threads, run.device);
      std::error_code ec;
      fs::remove(dir / "error.json", ec);
      write_json_atomic(dir / "record.json", record);  // last: marks the cell done
      ++summary.ran;
      spdlog::info("cell [{}] done in {}", cell->index, format_duration(wall));
    } catch (const std::exception& e) {
      ++summary.failed;
      summary.failed_cells.push_back(cell->id + ": " + e.what());
      const int code = dynamic_cast<const Error*>(&e) ? dynamic_cast<const Error*>(&e)->exit_code() : 1;
      write_json_atomic(dir / "error.json", {{"status", "failed"}, {"cell", cell->id}, {"index", cell->index},
                                             {"config_hash", cell->config_hash}, {"message", e.what()},
                                             {"exit_code", code}, {"time", iso_time_utc()}});
      spdlog::error("cell [{}] {} failed: {}", cell->index, cell->id, e.what());
      if (options.fail_fast) break;
    }
    overall.advance();
  }
  return summary;
}

}  // namespace frerec
