// predictions.csv of a cell (shared/DESIGN.md §5): header "id,label,score", one row per
// test image in evaluation order; score = positive-class probability printed with 9
// significant digits (round-trips a float32 exactly). Ids holding a comma, quote or line
// break are quoted RFC 4180 style (framework/io/csv.h). Written atomically.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "framework/core/registry.h"

namespace frerec::metrics {

struct PredictionTable {
  std::vector<std::string> ids;
  std::vector<int> labels;
  std::vector<double> scores;
};

// Throws RunError if the three columns have different lengths.
void write_predictions_csv(const std::filesystem::path& path, const PredictionTable& table);
// Throws RunError naming the file and line on a malformed file.
PredictionTable read_predictions_csv(const std::filesystem::path& path);

// Validation metrics of binary predictions by the names configs use (trainer.val_metric),
// registered in the component registry (kind "metrics", `frerec info metrics`): auc,
// accuracy, f1 (threshold 0.5), all "higher is better". A new one is one add() call.
using BinaryMetric = std::function<double(const PredictionTable& table)>;
Registry<BinaryMetric>& binary_metric_registry();
// The metric `name` computed on `table`; ConfigError naming the known ones for another name.
double binary_metric(const std::string& name, const PredictionTable& table);

}  // namespace frerec::metrics
