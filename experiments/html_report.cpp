#include "experiments/html_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"
#include "framework/report/figure.h"
#include "framework/report/html.h"

namespace frerec::experiments {
namespace fs = std::filesystem;
namespace {

using report::html_escape;

// Per-epoch scalars of one cell's train_log.jsonl: key -> epoch -> value (lines that are
// not JSON objects, e.g. a line cut short, are skipped).
using Curves = std::map<std::string, std::map<int, double>>;

Curves read_train_log(const fs::path& path) {
  Curves curves;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_object() || !entry.contains("epoch") || !entry["epoch"].is_number_integer()) continue;
    const int epoch = entry["epoch"].get<int>();
    for (const auto& [key, value] : entry.items())
      if ((key == "train_loss" || key.rfind("val_", 0) == 0) && value.is_number())
        curves[key][epoch] = value.get<double>();
  }
  return curves;
}

// One panel per curve key: a line per series name (mean over its runs, band ± sample std).
report::Figure curve_figure(const std::string& title, const std::map<std::string, std::vector<Curves>>& runs) {
  std::set<std::string> keys;
  for (const auto& [name, logs] : runs)
    for (const auto& log : logs)
      for (const auto& [key, _] : log) keys.insert(key);
  report::Figure figure;
  figure.title = title;
  figure.panel_width = 440;
  figure.panel_height = 280;
  figure.columns = static_cast<int>(std::min<std::size_t>(keys.size(), 2));
  for (const auto& key : keys) {
    report::LinePlot plot;
    plot.title = key;
    plot.x_label = "epoch";
    plot.y_label = key;
    for (const auto& [name, logs] : runs) {
      std::map<int, std::vector<double>> by_epoch;
      for (const auto& log : logs)
        if (const auto it = log.find(key); it != log.end())
          for (const auto& [epoch, value] : it->second) by_epoch[epoch].push_back(value);
      if (by_epoch.empty()) continue;
      report::LineSeries series;
      series.label = logs.size() > 1 ? fmt::format("{} (n={})", name, logs.size()) : name;
      for (const auto& [epoch, values] : by_epoch) {
        double mean = 0;
        for (double v : values) mean += v;
        mean /= static_cast<double>(values.size());
        double spread = 0;
        if (values.size() > 1) {
          for (double v : values) spread += (v - mean) * (v - mean);
          spread = std::sqrt(spread / static_cast<double>(values.size() - 1));
        }
        series.x.push_back(epoch);
        series.y.push_back(mean);
        series.spread.push_back(spread);
      }
      plot.series.push_back(std::move(series));
    }
    figure.panels.emplace_back(std::move(plot));
  }
  return figure;
}

// The text after a Markdown table (its notes), one paragraph per line.
std::vector<std::string> markdown_notes(const fs::path& path) {
  std::vector<std::string> notes;
  std::ifstream in(path);
  std::string line;
  bool after_table = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '|') {
      after_table = true;
      notes.clear();  // notes follow the last table of the file
    } else if (after_table && !line.empty()) {
      notes.push_back(line);
    }
  }
  return notes;
}

struct Cell {
  std::map<std::string, std::string> fields;  // runs.csv columns
  std::string id() const { return fields.at("cell"); }
  std::string field(const std::string& key) const {
    const auto it = fields.find(key);
    return it == fields.end() ? "" : it->second;
  }
};

std::string anchor_of(const std::string& cell_id) {
  std::string anchor = "cell-";
  for (const char c : cell_id) anchor += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return anchor;
}

std::string status_class(const std::string& status) {
  return status == "ok" ? "status-ok" : status == "failed" ? "status-failed" : "status-other";
}

class Page {
 public:
  explicit Page(fs::path dir) : dir_(std::move(dir)) {}

  std::string build() {
    const io::CsvTable runs = io::read_csv(dir_ / "runs.csv");
    for (const auto& row : runs.rows) {
      Cell cell;
      for (std::size_t i = 0; i < runs.header.size(); ++i) cell.fields[runs.header[i]] = row[i];
      cells_.push_back(std::move(cell));
    }
    std::map<std::string, int> statuses;
    for (const auto& cell : cells_) ++statuses[cell.field("status")];
    std::string summary;
    for (const auto& [status, count] : statuses)
      summary += fmt::format("{}<span class=\"{}\">{} {}</span>", summary.empty() ? "" : ", ", status_class(status),
                             count, html_escape(status));

    std::string sections;
    std::vector<std::pair<std::string, std::string>> contents;  // anchor, title
    auto section = [&](const std::string& anchor, const std::string& title, const std::string& html) {
      if (html.empty()) return;
      contents.emplace_back(anchor, title);
      sections += fmt::format("<section id=\"{}\"><h2>{}</h2>\n{}</section>\n", anchor, html_escape(title), html);
    };
    section("table2", "Table 2: downstream classification", table_section("table2"));
    section("table3", "Table 3: frequency calibration variants", table_section("table3"));
    section("figures-table", "Figure measurements", table_section("figures"));
    section("figures", "Figures", figures_section());
    section("curves", "Training curves per method", curves_section());
    section("samples", "Sample grids", samples_section());
    section("cells", "Cells", cells_section());

    std::string toc;
    for (const auto& [anchor, title] : contents)
      toc += fmt::format("<li><a href=\"#{}\">{}</a></li>", anchor, html_escape(title));
    const std::string name = dir_.filename().string();
    const std::string body = fmt::format(
        "<h1>FreRec-Bench report: {}</h1>\n<p>{} cell{}: {}. Rebuilt by <code>frerec report</code> from the records in "
        "this folder.</p>\n<nav><ul>{}</ul></nav>\n{}",
        html_escape(name), cells_.size(), cells_.size() == 1 ? "" : "s", summary, toc, sections);
    return report::html_page("FreRec-Bench report: " + name, body);
  }

 private:
  std::string table_section(const std::string& stem) const {
    const fs::path csv = dir_ / (stem + ".csv");
    if (!fs::is_regular_file(csv)) return "";
    const io::CsvTable table = io::read_csv(csv);
    std::string html = report::html_table(stem + "-table", table.header, table.rows);
    for (const auto& note : markdown_notes(dir_ / (stem + ".md")))
      html += "<p class=\"note\">" + html_escape(note) + "</p>\n";
    return html + fmt::format("<p class=\"note\">Click a column header to sort. The same numbers: <code>{}.csv</code>, "
                              "<code>{}.md</code>, <code>{}.tex</code>.</p>\n",
                              html_escape(stem), html_escape(stem), html_escape(stem));
  }

  std::string figures_section() {
    const fs::path dir = dir_ / "figures";
    if (!fs::is_directory(dir)) return "";
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::string html;
    for (const auto& file : files) {
      const std::string ext = file.extension().string();
      const bool has_svg = fs::exists(fs::path(file).replace_extension(".svg"));
      if (ext == ".svg")
        html += figure(report::inline_svg(read_file(file), next_id()), file.filename().string());
      else if (ext == ".png" && !has_svg)
        html += figure(report::inline_png(read_file(file), file.filename().string()), file.filename().string());
    }
    return html;
  }

  // Finished cells (status ok) grouped by everything but method and seed.
  std::string curves_section() {
    std::map<std::string, std::map<std::string, std::vector<Curves>>> groups;  // group -> method -> runs
    for (const auto& cell : cells_) {
      if (cell.field("status") != "ok") continue;
      const fs::path log = dir_ / cell.id() / "train_log.jsonl";
      if (!fs::is_regular_file(log)) continue;
      Curves curves = read_train_log(log);
      if (curves.empty()) continue;
      const std::string method = cell.field("method.name");
      // The cell id without the method and the seed: <data>/<model>/[key=value/...].
      std::vector<std::string> parts;
      std::stringstream id(cell.id());
      for (std::string part; std::getline(id, part, '/');) parts.push_back(part);
      if (!parts.empty()) parts.pop_back();
      if (const auto it = std::find(parts.begin(), parts.end(), method); it != parts.end()) parts.erase(it);
      groups[fmt::format("{}", fmt::join(parts, " / "))][method.empty() ? "?" : method].push_back(std::move(curves));
    }
    std::string html;
    for (const auto& [group, methods] : groups)
      html += figure(report::inline_svg(report::render_svg(curve_figure(group, methods)), next_id()),
                     group + ": mean over seeds, band ± 1 std");
    return html;
  }

  std::string samples_section() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.is_regular_file() && entry.path().extension() == ".png") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::string html;
    for (const auto& file : files)
      html += figure(report::inline_png(read_file(file), file.filename().string()), file.filename().string());
    return html;
  }

  std::string cells_section() {
    std::string html;
    for (const auto& cell : cells_) {
      const fs::path dir = dir_ / cell.id();
      const std::string status = cell.field("status");
      std::vector<std::vector<std::string>> metrics;
      for (const auto& [key, value] : cell.fields)
        if (key.rfind("metrics.", 0) == 0 && !value.empty()) metrics.push_back({key.substr(8), value});
      std::string headline;
      for (const char* key : {"metrics.auc", "metrics.accuracy", "metrics.f1"})
        if (!cell.field(key).empty()) headline += fmt::format(", {} {}", key + 8, cell.field(key));
      std::string body;
      if (!cell.field("error").empty())
        body += "<p class=\"error\">" + html_escape(cell.field("error")) + "</p>\n";
      if (!metrics.empty()) body += report::html_table(anchor_of(cell.id()) + "-metrics", {"metric", "value"}, metrics);
      std::vector<std::vector<std::string>> run;
      for (const char* key : {"wall_seconds", "started", "finished", "git_commit", "git_dirty", "host", "device",
                              "threads", "config_hash"})
        if (!cell.field(key).empty()) run.push_back({key, cell.field(key)});
      if (!run.empty()) body += report::html_table(anchor_of(cell.id()) + "-run", {"timing and run", "value"}, run);
      if (const fs::path log = dir / "train_log.jsonl"; fs::is_regular_file(log)) {
        const Curves curves = read_train_log(log);
        if (!curves.empty()) {
          report::Figure curve = curve_figure("", {{cell.field("method.name"), {curves}}});
          curve.panel_width = 360;
          curve.panel_height = 220;
          body += report::inline_svg(report::render_svg(curve), next_id());
        }
      }
      if (const fs::path config = dir / "config.yaml"; fs::is_regular_file(config))
        body += "<p>Resolved config (<code>config.yaml</code>):</p><pre>" + html_escape(read_file(config)) + "</pre>\n";
      html += fmt::format("<details id=\"{}\"><summary>[{}] <code>{}</code> — <span class=\"{}\">{}</span>{}</summary>\n{}"
                          "</details>\n",
                          anchor_of(cell.id()), html_escape(cell.field("index")), html_escape(cell.id()),
                          status_class(status), html_escape(status), html_escape(headline), body);
    }
    return html;
  }

  std::string figure(const std::string& content, const std::string& caption) {
    return "<figure>" + content + "<figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
  }

  std::string next_id() { return fmt::format("f{}-", ++figures_); }

  fs::path dir_;
  std::vector<Cell> cells_;
  int figures_ = 0;
};

}  // namespace

std::string write_html_report(const fs::path& experiment_dir) {
  if (!fs::is_regular_file(experiment_dir / "runs.csv")) return "";
  write_file_atomic(experiment_dir / "index.html", Page(experiment_dir).build());
  return fmt::format("  {}/index.html\n", experiment_dir.string());
}

}  // namespace frerec::experiments
