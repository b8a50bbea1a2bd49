// What a grid cell runs. Experiment kinds (`experiment.kind` in the config: e.g. the
// Table 2 classifier cell) register a CellExperiment factory under kind "experiments".
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/registry.h"
#include "framework/runner/plan.h"

namespace frerec {

struct CellContext {
  const Cell& cell;
  config::Params config;          // the whole validated cell config
  std::filesystem::path dir;      // the cell's folder (exists; write artifacts atomically)
  RunContext& run;
  // Extra facts for record.json beyond the metrics (e.g. counts of skipped images).
  nlohmann::json record_extra = nlohmann::json::object();
};

class CellExperiment {
 public:
  virtual ~CellExperiment() = default;
  // Offline work shared by the cells about to run (caches); called once per run.
  virtual void prepare(const ExperimentPlan& /*plan*/, RunContext& /*run*/) {}
  // Runs one cell and returns its metrics (a JSON object) for record.json.
  virtual nlohmann::json run(CellContext& context) = 0;
};

using ExperimentRegistry = Registry<std::unique_ptr<CellExperiment>>;
ExperimentRegistry& experiment_registry();

}  // namespace frerec
