// ExperimentPlan: a config's grid expanded into cells (shared/DESIGN.md §1, §5).
//
// Coordinates are ordered data.name, method.name, model.name, then the other swept keys
// in the order given, and `seed` innermost, so cell indices are stable for a config and
// `--cell N` (a job-array index) always names the same cell. A cell's folder, relative
// to results/<experiment>/, is <data>/<method>/<model>/[<key>=<value>/...]seed=<k>.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "framework/config/loader.h"

namespace frerec {

struct Cell {
  std::size_t index = 0;
  std::string id;  // relative folder, e.g. "demo_mri/gda/resnet18/seed=0"
  std::vector<std::pair<std::string, std::string>> coordinates;  // swept key -> value text
  YAML::Node config;         // validated, defaults filled, unselected components removed
  std::string config_hash;   // sha256 of canonical_text(config)
};

struct ExperimentPlan {
  std::string name;   // experiment name
  std::string kind;   // registered experiment kind that runs each cell
  std::filesystem::path config_file;
  std::vector<std::string> overrides;
  std::vector<config::Sweep> sweeps;  // ordered as the coordinates
  std::vector<Cell> cells;
};

// Loads, expands and validates every cell (a config error in any cell is reported before
// anything runs).
ExperimentPlan make_plan(const std::filesystem::path& config_file, const std::vector<std::string>& overrides);
ExperimentPlan make_plan(const config::LoadedConfig& loaded, const std::filesystem::path& config_file);

// One line per cell: "  [3] demo_mri/gda/resnet18/seed=0".
std::string describe_plan(const ExperimentPlan& plan);

}  // namespace frerec
