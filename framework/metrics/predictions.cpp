#include "framework/metrics/predictions.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <mutex>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"
#include "framework/metrics/metrics.h"

namespace frerec::metrics {
void write_predictions_csv(const std::filesystem::path& path, const PredictionTable& table) {
  if (table.ids.size() != table.labels.size() || table.ids.size() != table.scores.size()) {
    throw RunError(fmt::format("predictions: {} ids, {} labels and {} scores for '{}'; the columns must have "
                               "the same length",
                               table.ids.size(), table.labels.size(), table.scores.size(), path.string()));
  }
  io::CsvTable csv{"", {"id", "label", "score"}, {}};
  csv.rows.reserve(table.ids.size());
  for (std::size_t i = 0; i < table.ids.size(); ++i)
    csv.rows.push_back({table.ids[i], std::to_string(table.labels[i]), fmt::format("{:.9g}", table.scores[i])});
  io::write_csv(path, csv);
}

PredictionTable read_predictions_csv(const std::filesystem::path& path) {
  const std::vector<io::CsvRecord> records = io::parse_csv_records(read_file(path), path);
  if (records.empty())
    throw RunError(fmt::format("predictions: '{}' is empty; expected a header 'id,label,score'", path.string()));
  if (records[0].fields != std::vector<std::string>{"id", "label", "score"})
    throw RunError(fmt::format("predictions: '{}' line 1 must be the header 'id,label,score'", path.string()));
  PredictionTable table;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const auto& [line, fields] = records[r];
    if (fields.size() != 3) {
      throw RunError(fmt::format("predictions: '{}' line {}: expected 3 fields (id,label,score), got {}",
                                 path.string(), line, fields.size()));
    }
    char* end = nullptr;
    const long label = std::strtol(fields[1].c_str(), &end, 10);
    if (fields[1].empty() || *end != '\0') {
      throw RunError(fmt::format("predictions: '{}' line {}: label '{}' is not an integer", path.string(), line,
                                 fields[1]));
    }
    const double score = std::strtod(fields[2].c_str(), &end);
    if (fields[2].empty() || *end != '\0') {
      throw RunError(fmt::format("predictions: '{}' line {}: score '{}' is not a number", path.string(), line,
                                 fields[2]));
    }
    table.ids.push_back(fields[0]);
    table.labels.push_back(static_cast<int>(label));
    table.scores.push_back(score);
  }
  return table;
}

Registry<BinaryMetric>& binary_metric_registry() {
  static Registry<BinaryMetric> registry("metrics");
  static std::once_flag once;
  std::call_once(once, [] {
    auto add = [](const std::string& name, const std::string& description, BinaryMetric metric) {
      registry.add(name, description, config::Schema(), [metric](const config::Params&) { return metric; });
    };
    add("auc", "ROC AUC by the Mann-Whitney statistic, ties counted half (real test set)",
        [](const PredictionTable& t) { return roc_auc(t.labels, t.scores); });
    add("accuracy", "accuracy at threshold eval.threshold on P(positive)",
        [](const PredictionTable& t) { return accuracy(confusion_matrix(t.labels, t.scores)); });
    add("f1", "F1 of the positive class at eval.threshold",
        [](const PredictionTable& t) { return f1_positive(confusion_matrix(t.labels, t.scores)); });
  });
  return registry;
}

double binary_metric(const std::string& name, const PredictionTable& table) {
  return binary_metric_registry().create(name, config::Params())(table);
}

}  // namespace frerec::metrics
