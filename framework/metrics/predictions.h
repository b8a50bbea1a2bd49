// predictions.csv of a cell (shared/DESIGN.md §5): header "id,label,score", one row per
// test image in evaluation order; score = positive-class probability printed with 9
// significant digits (round-trips a float32 exactly). Ids holding a comma, quote or line
// break are quoted RFC 4180 style (framework/io/csv.h). Written atomically.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

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

}  // namespace frerec::metrics
