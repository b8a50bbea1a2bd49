// ExperimentPlan: a config's grid expanded into cells (shared/DESIGN.md §1, §5).
//
// Coordinates are ordered data.name, method.name, model.name, then the other swept keys
// in the order given, and `seed` innermost, so cell indices are stable for a config and
// `--cell N` (a job-array index) always names the same cell. A cell's folder, relative
// to results/<experiment>/, is <data>/<method>/<model>/[<key>=<value>/...]seed=<k>, where
// <method> is method.name, or <name>-<label> when the selected method block has a `label`
// (method.python.label: several Python methods are distinct cells and Table 2 rows).
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
  std::string listing_file = "plan.json";  // plan.<part>.json for the parts of a suite
};

// Loads, expands and validates every cell (a config error in any cell is reported before
// anything runs).
ExperimentPlan make_plan(const std::filesystem::path& config_file, const std::vector<std::string>& overrides);
ExperimentPlan make_plan(const config::LoadedConfig& loaded, const std::filesystem::path& config_file);

// Several experiment configs run as one (e.g. configs/demo/full.yaml: Table 2, Table 3 and
// the figures of the demo benchmark). A suite file holds only
//   suite: {name: demo, description: ..., parts: [table2.yaml, table3.yaml, figures.yaml]}
// (paths relative to the suite file). Every part runs under experiment.name = suite.name, so
// all records share results/<name>/ and one `frerec report` rebuilds every table and
// figure. Cell indices run on across parts (--cell N names one cell of the whole suite); a
// cell that two parts both contain with the same configuration is listed (and run) once.
struct Suite {
  std::string name;
  std::string description;
  std::filesystem::path config_file;
  std::vector<ExperimentPlan> plans;
};
bool is_suite_file(const std::filesystem::path& config_file);
Suite make_suite(const std::filesystem::path& config_file, const std::vector<std::string>& overrides);

// sha256 of the canonical config without experiment.name / experiment.description (they do
// not change what a cell computes, so a suite's parts and renamed copies share cells).
std::string config_hash(const YAML::Node& config);

// Cells of a kind other than kDefaultKind get the kind as the first part of their id
// (figures/demo_mri/...), so they never share a folder with Table 2 cells.
constexpr const char* kDefaultKind = "classify";

// One line per cell: "  [3] demo_mri/gda/resnet18/seed=0".
std::string describe_plan(const ExperimentPlan& plan);

}  // namespace frerec
