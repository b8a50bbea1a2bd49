#include "framework/metrics/predictions.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <mutex>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/metrics/metrics.h"

namespace frerec::metrics {
namespace {

std::string quote_if_needed(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// Splits one CSV record starting at `pos`; advances `pos` past its line break.
std::vector<std::string> parse_record(const std::string& text, std::size_t& pos, bool& ok) {
  std::vector<std::string> fields(1);
  bool in_quotes = false;
  ok = true;
  while (pos < text.size()) {
    const char c = text[pos];
    if (in_quotes) {
      if (c == '"') {
        if (pos + 1 < text.size() && text[pos + 1] == '"') {
          fields.back() += '"';
          ++pos;
        } else {
          in_quotes = false;
        }
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
      ++pos;
      return fields;
    } else {
      fields.back() += c;
    }
    ++pos;
  }
  if (in_quotes) ok = false;
  return fields;
}

}  // namespace

void write_predictions_csv(const std::filesystem::path& path, const PredictionTable& table) {
  if (table.ids.size() != table.labels.size() || table.ids.size() != table.scores.size()) {
    throw RunError(fmt::format("predictions: {} ids, {} labels and {} scores for '{}'; the columns must have "
                               "the same length",
                               table.ids.size(), table.labels.size(), table.scores.size(), path.string()));
  }
  std::string content = "id,label,score\n";
  content.reserve(32 * (table.ids.size() + 1));
  for (std::size_t i = 0; i < table.ids.size(); ++i) {
    content += quote_if_needed(table.ids[i]);
    content += fmt::format(",{},{:.9g}\n", table.labels[i], table.scores[i]);
  }
  write_file_atomic(path, content);
}

PredictionTable read_predictions_csv(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  PredictionTable table;
  std::size_t pos = 0;
  long line = 0;
  bool header_seen = false;
  while (pos < text.size()) {
    bool ok = true;
    const std::vector<std::string> fields = parse_record(text, pos, ok);
    ++line;
    if (!ok) throw RunError(fmt::format("predictions: '{}' line {}: unterminated quoted id", path.string(), line));
    if (!header_seen) {
      if (fields.size() != 3 || fields[0] != "id" || fields[1] != "label" || fields[2] != "score") {
        throw RunError(fmt::format("predictions: '{}' line 1 must be the header 'id,label,score'", path.string()));
      }
      header_seen = true;
      continue;
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
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
  if (!header_seen) throw RunError(fmt::format("predictions: '{}' is empty; expected a header 'id,label,score'", path.string()));
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
