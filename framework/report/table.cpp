#include "framework/report/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"

namespace frerec::report {

TableCell TableCell::label(std::string text) {
  TableCell cell;
  cell.text = std::move(text);
  return cell;
}

TableCell TableCell::number(double value, int precision) {
  TableCell cell;
  cell.value = value;
  cell.precision = precision;
  return cell;
}

TableCell TableCell::mean_std(const std::vector<double>& values, int precision) {
  TableCell cell;
  cell.precision = precision;
  if (values.empty()) {
    cell.text = "–";
    return cell;
  }
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  cell.value = mean;
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - mean) * (v - mean);
    cell.spread = std::sqrt(ss / static_cast<double>(values.size() - 1));
  }
  return cell;
}

std::string TableCell::plain() const {
  if (!value) return text;
  std::string out = fmt::format("{:.{}f}", *value, precision);
  if (spread) out += fmt::format(" ± {:.{}f}", *spread, precision);
  return out;
}

void Table::mark_best(std::size_t column, bool higher_is_better) {
  std::set<std::string> groups;
  for (const auto& row : rows) groups.insert(row.group);
  for (const auto& group : groups) {
    // Rounded values decide, so two cells that print the same share a mark.
    std::vector<double> values;
    for (const auto& row : rows)
      if (row.group == group && column < row.cells.size() && row.cells[column].value) {
        const auto& c = row.cells[column];
        values.push_back(std::round(*c.value * std::pow(10.0, c.precision)));
      }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    if (higher_is_better) std::reverse(values.begin(), values.end());
    if (values.empty()) continue;
    for (auto& row : rows) {
      if (row.group != group || column >= row.cells.size() || !row.cells[column].value) continue;
      auto& c = row.cells[column];
      const double v = std::round(*c.value * std::pow(10.0, c.precision));
      c.bold = v == values[0];
      c.underline = values.size() > 1 && v == values[1];
    }
  }
}

void Table::mark_best_all(std::size_t first_column, std::size_t last_column, bool higher_is_better) {
  for (std::size_t c = first_column; c <= last_column; ++c) mark_best(c, higher_is_better);
}

namespace {

bool has_groups(const Table& table) {
  return std::any_of(table.rows.begin(), table.rows.end(), [](const TableRow& r) { return !r.group.empty(); });
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '_': out += "\\_"; break;
      case '%': out += "\\%"; break;
      case '&': out += "\\&"; break;
      case '#': out += "\\#"; break;
      case '$': out += "\\$"; break;
      case '{': out += "\\{"; break;
      case '}': out += "\\}"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_markdown(const Table& table) {
  std::string out;
  if (!table.caption.empty()) out += "**" + table.caption + "**\n\n";
  const bool grouped = has_groups(table);
  std::vector<std::string> header;
  if (grouped) header.push_back("Group");
  header.insert(header.end(), table.columns.begin(), table.columns.end());
  out += "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n";
  // Label columns (the group and the first table column) left-aligned, numbers right.
  const std::size_t label_columns = grouped ? 2 : 1;
  out += "|";
  for (std::size_t i = 0; i < header.size(); ++i) out += i < label_columns ? "---|" : "---:|";
  out += "\n";
  std::string previous_group = "\x01";
  for (const auto& row : table.rows) {
    std::vector<std::string> cells;
    if (grouped) cells.push_back(row.group == previous_group ? "" : row.group);
    previous_group = row.group;
    for (const auto& c : row.cells) {
      std::string text = c.plain();
      if (c.bold) text = "**" + text + "**";
      if (c.underline) text = "<u>" + text + "</u>";
      cells.push_back(text);
    }
    out += "| " + fmt::format("{}", fmt::join(cells, " | ")) + " |\n";
  }
  if (!table.notes.empty()) {
    out += "\n";
    for (const auto& note : table.notes) out += note + "\n";
  }
  return out;
}

std::string render_csv(const Table& table) {
  io::CsvTable csv;
  const bool grouped = has_groups(table);
  if (grouped) csv.header.push_back("group");
  // A column whose cells carry a spread is split into <name>_mean and <name>_std.
  std::vector<bool> split(table.columns.size(), false);
  for (const auto& row : table.rows)
    for (std::size_t c = 0; c < row.cells.size() && c < split.size(); ++c)
      if (row.cells[c].spread) split[c] = true;
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    if (split[c]) {
      csv.header.push_back(table.columns[c] + "_mean");
      csv.header.push_back(table.columns[c] + "_std");
    } else {
      csv.header.push_back(table.columns[c]);
    }
  }
  for (const auto& row : table.rows) {
    std::vector<std::string>& cells = csv.rows.emplace_back();
    if (grouped) cells.push_back(row.group);
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      const TableCell empty;
      const TableCell& cell = c < row.cells.size() ? row.cells[c] : empty;
      auto number = [&](const std::optional<double>& v) {
        return v ? fmt::format("{:.{}f}", *v, std::max(cell.precision, 4)) : std::string();
      };
      if (split[c]) {
        cells.push_back(number(cell.value));
        cells.push_back(number(cell.spread));
      } else {
        cells.push_back(cell.value ? number(cell.value) : cell.text);
      }
    }
  }
  return io::csv_text(csv);
}

std::string render_latex(const Table& table) {
  const bool grouped = has_groups(table);
  std::string spec = grouped ? "l" : "";
  for (std::size_t c = 0; c < table.columns.size(); ++c) spec += c == 0 ? "l" : "c";
  std::string out = "\\begin{table}[t]\n\\centering\n";
  if (!table.caption.empty()) out += "\\caption{" + latex_escape(table.caption) + "}\n";
  out += "\\begin{tabular}{" + spec + "}\n\\toprule\n";
  std::vector<std::string> header;
  if (grouped) header.push_back("Group");
  for (const auto& c : table.columns) header.push_back(latex_escape(c));
  out += fmt::format("{} \\\\\n\\midrule\n", fmt::join(header, " & "));
  std::string previous_group = "\x01";
  for (const auto& row : table.rows) {
    if (grouped && row.group != previous_group && previous_group != "\x01") out += "\\midrule\n";
    std::vector<std::string> cells;
    if (grouped) cells.push_back(row.group == previous_group ? "" : latex_escape(row.group));
    previous_group = row.group;
    for (const auto& c : row.cells) {
      std::string text;
      if (c.value) {
        text = fmt::format("{:.{}f}", *c.value, c.precision);
        if (c.spread) text += fmt::format("$\\pm${:.{}f}", *c.spread, c.precision);
      } else {
        text = latex_escape(c.text);
      }
      if (c.bold) text = "\\textbf{" + text + "}";
      if (c.underline) text = "\\underline{" + text + "}";
      cells.push_back(text);
    }
    out += fmt::format("{} \\\\\n", fmt::join(cells, " & "));
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  for (const auto& note : table.notes) out += "\\\\[2pt]{\\footnotesize " + latex_escape(note) + "}\n";
  out += "\\end{table}\n";
  return out;
}

void save_table(const Table& table, const std::filesystem::path& stem) {
  write_file_atomic(stem.string() + ".md", render_markdown(table));
  write_file_atomic(stem.string() + ".csv", render_csv(table));
  write_file_atomic(stem.string() + ".tex", render_latex(table));
}

}  // namespace frerec::report
