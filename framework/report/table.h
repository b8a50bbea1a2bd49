// One table model rendered to Markdown, CSV and LaTeX (shared/STYLE.md §9).
//
// Rows belong to groups (e.g. "brain tumour / ResNet50"); within each group and column
// mark_best() makes the best value bold and the second underlined, as the paper's
// tables do. Numeric cells keep mean and std so the CSV can carry them as numbers.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace frerec::report {

struct TableCell {
  std::string text;             // shown as is when there is no value
  std::optional<double> value;  // the mean (or single value)
  std::optional<double> spread; // the std over seeds
  int precision = 3;
  bool bold = false;
  bool underline = false;

  static TableCell label(std::string text);
  static TableCell number(double value, int precision = 3);
  static TableCell mean_std(const std::vector<double>& values, int precision = 3);  // sample std (n-1)
  std::string plain() const;  // "0.912 ± 0.010" or text
};

struct TableRow {
  std::string group;
  std::vector<TableCell> cells;  // one per column
};

struct Table {
  std::string caption;
  std::vector<std::string> columns;
  std::vector<TableRow> rows;
  std::vector<std::string> notes;  // printed under the table

  // Bold best / underline second of `column` within each group (ties share the mark).
  void mark_best(std::size_t column, bool higher_is_better = true);
  void mark_best_all(std::size_t first_column, std::size_t last_column, bool higher_is_better = true);
};

std::string render_markdown(const Table& table);
std::string render_csv(const Table& table);
std::string render_latex(const Table& table);
// Writes <stem>.md, <stem>.csv and <stem>.tex atomically.
void save_table(const Table& table, const std::filesystem::path& stem);

}  // namespace frerec::report
