// Report builders by experiment kind (see reports.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "framework/report/table.h"

namespace frerec::experiments {

// Builds the reports of one experiment kind's records; returns the files written, one per
// line. `left_out`: that kind's records made under another config than the current plan
// (build_reports); no table uses them, and each table states how many of its own it left out.
using ReportBuilder = std::function<std::string(const std::vector<nlohmann::json>& records,
                                                const std::vector<nlohmann::json>& left_out,
                                                const std::filesystem::path& experiment_dir)>;
std::map<std::string, ReportBuilder>& report_builders();
// The table note for `count` (> 0) left-out records.
std::string left_out_note(std::size_t count);

// Table 2 rows and Table 3 variants as the methods declare them (augmentations/method.h,
// ReportPlacement).
std::vector<std::string> table2_method_order();
report::Table make_table2(const std::vector<nlohmann::json>& records, const std::string& reference_method);
// Ablation rows of Table 3: method name -> row label, in the paper's order.
std::vector<std::pair<std::string, std::string>> table3_variants();
// Table 3 from the records of the ablation methods (nullopt when no group has two rows).
std::optional<report::Table> make_table3(const std::vector<nlohmann::json>& records);
// The positive control (configs/demo/positive_control.yaml; nullopt when no record swept
// data.synthetic.known_bias.operator): per task / backbone / operator, the oracle row
// (operator none, GDA), GDA on the biased pool, and each recalibration of it, with AUC, the
// pool's high-band spectral gap to the real training images before and after calibration,
// and the recovery fraction (AUC_row − AUC_biased) / (AUC_oracle − AUC_biased) on the seeds
// the three rows share, with a 95% bootstrap interval over those seeds.
std::optional<report::Table> make_positive_control_table(const std::vector<nlohmann::json>& records);
// The learning curve (configs/demo/learning_curve.yaml; nullopt when no record swept
// train.steps): per task / backbone (and any other swept key), test AUC mean ± std over seeds
// at each step budget, one series per method, with the paired change from the budget below
// and the plateau: the smallest budget that no larger budget beats by more than
// `plateau_tolerance` mean AUC. The figure (AUC against steps on a base-2 axis, ± std bands)
// is written beside the table by write_table2.
struct LearningCurve {
  report::Table table;
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<std::array<double, 3>>>>>>
      panels;  // group -> method -> (steps, mean AUC, std AUC) by budget
};
std::optional<LearningCurve> make_learning_curve(const std::vector<nlohmann::json>& records,
                                                 double plateau_tolerance = 0.01);
// results/<experiment>/runs.csv: one row per cell (every cell a plan listing names, and every
// folder with a record or an error): index, cell, status (ok / stale = made under another
// config than the plan's / failed / unreadable / pending), config hash, every resolved config
// key flattened (train.lr, method.name, ...; lists as [a, b]; decimals in their shortest form), every scalar metric
// (metrics.auc, ...), timing, commit, host, device, threads and a failed cell's error line.
// The table to load into pandas or R. Returns the line naming the file ("" when no cells).
std::string write_runs_csv(const std::filesystem::path& experiment_dir);
// Writes table2.* (Table 2 methods) and table3.* (ablation variants) as the records allow.
std::string write_table2(const std::vector<nlohmann::json>& records, const std::vector<nlohmann::json>& left_out,
                         const std::filesystem::path& experiment_dir);

}  // namespace frerec::experiments
