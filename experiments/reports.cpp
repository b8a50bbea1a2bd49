// Report builders: every table and figure of results/<experiment> from its records
// alone (record.json of each finished cell), so `frerec report` is idempotent and works
// on copies of the results folder.
//
// Table 3 (also from kind "classify" records): the ablation variants gda_shr,
// gda_rhm_restormer, gda_rhm, gda_frerec (+ the extra gda_shr_restormer) in the paper's row
// order per dataset / backbone group, with AUC, Acc, PSNR and SSIM and the ↑/↓ change from
// the row above. The FreRec row is the same cell as Table 2's GDA+FreRec, so a suite that
// runs both trains it once.
//
// Every table uses only the records made under the current plan's config (plan*.json) and
// says in a note how many it left out (build_reports).
//
// Table 2 (kind "classify"): per dataset and backbone (a group), one row per method with
// AUC, Acc and F1 as mean ± std over seeds; bold best and underline second within the
// group; p-values of each method against GDA across seeds (Wilcoxon signed-rank and
// paired t on AUC, seeds paired by seed number).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "augmentations/method.h"
#include "experiments/html_report.h"
#include "experiments/register.h"
#include "experiments/reports.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"
#include "framework/report/figure.h"
#include "framework/report/stats.h"
#include "framework/report/table.h"
#include "framework/runner/record.h"

namespace frerec::experiments {
namespace fs = std::filesystem;

namespace {

std::string coordinate(const nlohmann::json& record, const std::string& key) {
  // A labelled method (method.<name>.label, e.g. a Python method) is its own row.
  if (key == "method.name" && record.contains("extra") && record["extra"].contains("method") &&
      record["extra"]["method"].is_object() && record["extra"]["method"].contains("row"))
    return record["extra"]["method"]["row"].get<std::string>();
  const auto& coordinates = record["coordinates"];
  if (coordinates.contains(key)) return coordinates[key].get<std::string>();
  // Not swept: read it from the cell id (<data>/<method>/<model>/.../seed=k).
  const std::string id = record.value("cell", "");
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto slash = id.find('/', start);
    parts.push_back(id.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (key == "data.name" && parts.size() > 0) return parts[0];
  if (key == "method.name" && parts.size() > 1) return parts[1];
  if (key == "model.name" && parts.size() > 2) return parts[2];
  if (key == "seed" && !parts.empty()) return parts.back().substr(parts.back().find('=') + 1);
  return "";
}

// Everything but method and seed (and `also_ignore`, e.g. the swept budget of a learning
// curve) identifies a group (dataset, backbone, other sweeps).
std::string group_of(const nlohmann::json& record, const std::string& also_ignore = "") {
  std::string group = coordinate(record, "data.name") + " / " + coordinate(record, "model.name");
  for (const auto& [key, value] : record["coordinates"].items())
    if (key != "data.name" && key != "model.name" && key != "method.name" && key != "seed" && key != also_ignore)
      group += fmt::format(" / {}={}", key, value.get<std::string>());
  return group;
}

// How FreRec's own randomness (SHR's ε, the auto-encoder) related to the seeds of the FreRec
// rows, for the table notes; empty when no record ran a FreRec variant. Records written before
// the `randomness` setting existed used seed 0 for every cell ("fixed").
std::string frerec_randomness_note(const std::vector<nlohmann::json>& records) {
  std::set<std::string> modes;
  for (const auto& record : records) {
    if (!record.contains("extra") || !record["extra"].contains("method")) continue;
    const auto& method = record["extra"]["method"];
    if (method.contains("frerec")) modes.insert(method["frerec"].value("randomness", "fixed"));
  }
  if (modes.empty()) return "";
  if (modes.size() > 1) return "FreRec's own randomness (SHR's ε draws, the auto-encoder) is per cell in some rows and fixed in others.";
  return *modes.begin() == "per_cell"
             ? "FreRec's own randomness (SHR's ε draws, the auto-encoder's initialisation and sampling) varies with "
               "the seed: each seed is a new calibration and a new classifier."
             : "FreRec's own randomness (SHR's ε draws, the auto-encoder) is fixed across seeds: the seeds vary only "
               "the classifier (method.<variant>.randomness: fixed).";
}

}  // namespace

// The methods declare their rows when they register (register_all is idempotent).
std::vector<std::string> table2_method_order() {
  register_all();
  return augmentations::table2_methods();
}

report::Table make_table2(const std::vector<nlohmann::json>& records, const std::string& reference_method) {
  // group -> method -> seed -> metrics
  std::map<std::string, std::map<std::string, std::map<std::string, nlohmann::json>>> cells;
  for (const auto& record : records)
    cells[group_of(record)][coordinate(record, "method.name")][coordinate(record, "seed")] = record["metrics"];

  report::Table table;
  table.caption = "Table 2: downstream classification (mean ± std over seeds)";
  table.columns = {"Method", "AUC", "Acc", "F1", "n", fmt::format("ΔAUC vs {} [95% CI]", reference_method),
                   fmt::format("p vs {} (Wilcoxon / t, AUC)", reference_method)};
  const auto order = table2_method_order();
  std::size_t max_pairs = 0;  // most seeds paired with the reference in any row (for the note)
  auto rank = [&](const std::string& m) {
    const auto it = std::find(order.begin(), order.end(), m);
    return it == order.end() ? order.size() : static_cast<std::size_t>(it - order.begin());
  };
  for (const auto& [group, methods] : cells) {
    std::vector<std::string> names;
    for (const auto& [m, _] : methods) names.push_back(m);
    std::stable_sort(names.begin(), names.end(), [&](const auto& a, const auto& b) {
      return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
    });
    const auto reference = methods.find(reference_method);
    for (const auto& method : names) {
      const auto& seeds = methods.at(method);
      std::vector<double> auc, acc, f1;
      for (const auto& [seed, m] : seeds) {
        auc.push_back(m.value("auc", std::nan("")));
        acc.push_back(m.value("accuracy", std::nan("")));
        f1.push_back(m.value("f1", std::nan("")));
      }
      report::TableRow row;
      row.group = group;
      row.cells = {report::TableCell::label(method), report::TableCell::mean_std(auc),
                   report::TableCell::mean_std(acc), report::TableCell::mean_std(f1),
                   report::TableCell::label(std::to_string(seeds.size()))};
      std::string p_text = "–", delta_text = "–";
      if (reference != methods.end() && method != reference_method) {
        std::vector<double> a, b;
        for (const auto& [seed, m] : seeds) {
          const auto other = reference->second.find(seed);
          if (other == reference->second.end()) continue;
          a.push_back(m.value("auc", std::nan("")));
          b.push_back(other->second.value("auc", std::nan("")));
        }
        if (!a.empty()) {
          std::vector<double> delta(a.size());
          for (std::size_t i = 0; i < a.size(); ++i) delta[i] = a[i] - b[i];
          const double mean = std::accumulate(delta.begin(), delta.end(), 0.0) / static_cast<double>(delta.size());
          const auto [low, high] = report::bootstrap_mean_ci(delta);
          delta_text = a.size() >= 2 ? fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", mean, low, high)
                                     : fmt::format("{:+.3f}", mean);
        }
        if (a.size() >= 2) {
          max_pairs = std::max(max_pairs, a.size());
          const double w = report::wilcoxon_signed_rank_p(a, b);
          const double t = report::paired_t_test_p(a, b);
          auto show = [](double p) { return std::isnan(p) ? std::string("n/a") : fmt::format("{:.3f}", p); };
          p_text = show(w) + " / " + show(t);
        }
      }
      row.cells.push_back(report::TableCell::label(delta_text));
      row.cells.push_back(report::TableCell::label(p_text));
      table.rows.push_back(row);
    }
  }
  table.mark_best_all(1, 3, true);
  bool has_reference = false;
  for (const auto& [group, methods] : cells) has_reference = has_reference || methods.count(reference_method) > 0;
  if (!has_reference) {  // no reference rows: the ΔAUC and p-value columns would be empty
    for (int drop = 0; drop < 2; ++drop) {
      table.columns.pop_back();
      for (auto& row : table.rows) row.cells.pop_back();
    }
    table.notes.push_back("Bold: best, underlined: second within each dataset / backbone group.");
    return table;
  }
  table.notes.push_back(fmt::format(
      "Bold: best, underlined: second within each dataset / backbone group. ΔAUC: mean paired difference of AUC from "
      "{0} over the seeds both ran, with a 95% percentile bootstrap interval (10,000 resamples of the seeds, fixed "
      "seed). p: two-sided paired tests of AUC against "
      "{0} across seeds: Wilcoxon signed-rank / paired t, as scipy.stats.wilcoxon / ttest_rel with their defaults "
      "(Wilcoxon exact for <= 50 pairs without zero differences, else the normal approximation on the non-zero ones; "
      "with {1} paired seeds its smallest possible p is {2:.4g}).",
      reference_method, max_pairs, max_pairs > 0 ? std::ldexp(1.0, 1 - static_cast<int>(max_pairs)) : 1.0));
  if (const std::string note = frerec_randomness_note(records); !note.empty()) table.notes.push_back(note);
  return table;
}

std::string left_out_note(std::size_t count) {
  return fmt::format("{} record{} left out: made under another configuration than the current plan (config hash "
                     "differs from the one plan*.json lists for the cell); rerun those cells to include them.",
                     count, count == 1 ? "" : "s");
}

namespace {

void flatten_yaml(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& item : node)
      flatten_yaml(item.second, prefix.empty() ? item.first.Scalar() : prefix + "." + item.first.Scalar(), out);
  } else if (node.IsScalar()) {
    // Decimals as the shortest text that reads back the same (config.yaml keeps 17 digits:
    // 0.20000000000000001 is written 0.2 here).
    const std::string& text = node.Scalar();
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    const bool decimal = !text.empty() && end == text.c_str() + text.size() &&
                         text.find_first_of(".eE") != std::string::npos && std::isfinite(value);
    out[prefix] = decimal ? fmt::format("{}", value) : text;
  } else if (node.IsSequence()) {
    std::string text = "[";
    for (std::size_t i = 0; i < node.size(); ++i) {
      std::map<std::string, std::string> item;
      flatten_yaml(node[i], "", item);
      text += (i ? ", " : "") + (item.size() == 1 ? item.begin()->second : std::string("..."));
    }
    out[prefix] = text + "]";
  } else {
    out[prefix] = "";
  }
}

std::string scalar_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return std::to_string(value.get<long long>());
  if (value.is_number()) return fmt::format("{}", value.get<double>());
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return "";
}

}  // namespace

std::string write_runs_csv(const fs::path& experiment_dir) {
  // Cells: every one a plan listing names, and every folder with a record or an error.
  const auto planned = planned_config_hashes(experiment_dir);
  std::set<std::string> ids;
  for (const auto& [id, hash] : planned) ids.insert(id);
  std::error_code ec;
  for (const auto& item : fs::recursive_directory_iterator(experiment_dir, ec)) {
    const std::string name = item.path().filename().string();
    if (item.is_regular_file() && (name == "record.json" || name == "error.json"))
      ids.insert(fs::relative(item.path().parent_path(), experiment_dir).generic_string());
  }
  if (ids.empty()) return "";
  struct Row {
    std::map<std::string, std::string> fields;
    long index = -1;
  };
  std::vector<Row> rows;
  std::set<std::string> config_keys, metric_keys;
  for (const std::string& id : ids) {
    const fs::path dir = experiment_dir / id;
    Row row;
    row.fields["cell"] = id;
    const auto plan = planned.find(id);
    const auto record = read_json_file(dir / "record.json");
    const auto error = read_json_file(dir / "error.json");
    std::string status = "pending";
    if (record && record->is_object() && record->value("status", "") == "ok") {
      const bool current = planned.empty() || (plan != planned.end() && plan->second == record->value("config_hash", ""));
      status = current ? "ok" : "stale";
    } else if (fs::exists(dir / "record.json")) {
      status = "unreadable";
    } else if (error && error->is_object()) {
      status = "failed";
    }
    row.fields["status"] = status;
    row.fields["config_hash"] = plan != planned.end() ? plan->second : (record ? record->value("config_hash", "") : "");
    const nlohmann::json& source = record && record->is_object() ? *record : (error && error->is_object() ? *error : nlohmann::json());
    if (source.contains("index") && source["index"].is_number_integer()) row.index = source["index"].get<long>();
    if (record && record->is_object()) {
      if ((*record)["metrics"].is_object())
        for (const auto& [key, value] : (*record)["metrics"].items())
          if (value.is_primitive() && !value.is_null()) {
            row.fields["metrics." + key] = scalar_text(value);
            metric_keys.insert("metrics." + key);
          }
      const nlohmann::json& timing = (*record)["timing"];
      for (const char* key : {"wall_seconds", "started", "finished"})
        if (timing.is_object() && timing.contains(key)) row.fields[key] = scalar_text(timing[key]);
      const nlohmann::json& environment = (*record)["environment"];
      for (const char* key : {"git_commit", "git_dirty", "host", "device", "threads"})
        if (environment.is_object() && environment.contains(key)) row.fields[key] = scalar_text(environment[key]);
    }
    if (status == "failed" && error->contains("message") && (*error)["message"].is_string()) {
      const std::string message = (*error)["message"].get<std::string>();
      row.fields["error"] = message.substr(0, message.find('\n'));
    }
    if (fs::exists(dir / "config.yaml")) {
      try {
        std::map<std::string, std::string> config;
        flatten_yaml(YAML::LoadFile((dir / "config.yaml").string()), "", config);
        for (const auto& [key, value] : config) {
          row.fields[key] = value;
          config_keys.insert(key);
        }
      } catch (const YAML::Exception&) {
        row.fields["error"] = "config.yaml is not valid YAML";
      }
    }
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if ((a.index < 0) != (b.index < 0)) return a.index >= 0;
    return a.index != b.index ? a.index < b.index : a.fields.at("cell") < b.fields.at("cell");
  });
  io::CsvTable csv;
  std::vector<std::string>& columns = csv.header;
  columns = {"index", "cell", "status", "config_hash"};
  columns.insert(columns.end(), config_keys.begin(), config_keys.end());
  columns.insert(columns.end(), metric_keys.begin(), metric_keys.end());
  for (const char* key : {"wall_seconds", "started", "finished", "git_commit", "git_dirty", "host", "device", "threads", "error"})
    columns.push_back(key);
  for (auto& row : rows) {
    row.fields["index"] = row.index >= 0 ? std::to_string(row.index) : "";
    std::vector<std::string>& cells = csv.rows.emplace_back();
    for (const auto& column : columns) {
      const auto it = row.fields.find(column);
      cells.push_back(it == row.fields.end() ? "" : it->second);
    }
  }
  io::write_csv(experiment_dir / "runs.csv", csv);
  return fmt::format("  {}/runs.csv\n", experiment_dir.string());
}

std::string build_reports(const fs::path& experiment_dir) {
  std::vector<fs::path> unreadable;
  const auto records = collect_records(experiment_dir, &unreadable);
  for (const auto& path : unreadable)
    spdlog::warn("report: '{}' is not a readable record (not valid JSON: cut short or edited); its cell is left out "
                 "of the tables; rerun it (frerec run ... --cell N) to include it",
                 path.string());
  const std::string runs = write_runs_csv(experiment_dir);
  if (records.empty()) return runs + write_html_report(experiment_dir);
  // Tables use only records made under the current plan's config: a cell rerun with other
  // settings (or a record of a cell the plan no longer has) must not be averaged with the
  // rest. Folders without plan*.json (hand-made) use every record.
  const auto planned = planned_config_hashes(experiment_dir);
  std::map<std::string, std::vector<nlohmann::json>> by_kind, left_out_by_kind;
  for (const auto& r : records) {
    const auto plan = planned.find(r.value("cell", ""));
    const bool current = planned.empty() || (plan != planned.end() && plan->second == r.value("config_hash", ""));
    (current ? by_kind : left_out_by_kind)[r.value("kind", "")].push_back(r);
  }
  std::string written;
  for (const auto& [kind, group] : by_kind) {
    const auto builder = report_builders().find(kind);
    if (builder == report_builders().end()) continue;
    written += builder->second(group, left_out_by_kind[kind], experiment_dir);
  }
  // The page last: it shows the tables, figures and runs.csv just written.
  return written + runs + write_html_report(experiment_dir);
}

std::map<std::string, ReportBuilder>& report_builders() {
  static std::map<std::string, ReportBuilder> builders;
  return builders;
}

std::vector<std::pair<std::string, std::string>> table3_variants() {
  register_all();
  return augmentations::table3_methods();
}

std::optional<report::Table> make_table3(const std::vector<nlohmann::json>& records) {
  const auto variants = table3_variants();
  auto variant_rank = [&](const std::string& method) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < variants.size(); ++i)
      if (variants[i].first == method) return i;
    return std::nullopt;
  };
  // group -> variant rank -> seed -> metrics
  std::map<std::string, std::map<std::size_t, std::map<std::string, nlohmann::json>>> cells;
  for (const auto& record : records)
    if (const auto rank = variant_rank(coordinate(record, "method.name")))
      cells[group_of(record)][*rank][coordinate(record, "seed")] = record["metrics"];
  // Only groups with at least two ablation rows make an ablation.
  for (auto it = cells.begin(); it != cells.end();) it = it->second.size() < 2 ? cells.erase(it) : std::next(it);
  if (cells.empty()) return std::nullopt;
  // Rows compare on the seeds every variant of the group has (the demo's FreRec row comes
  // from Table 2's five seeds, the other variants from three): a mean over other seeds would
  // mix seed luck into the ablation's differences. With no shared seed, each row keeps its own.
  std::size_t dropped = 0;
  bool unshared = false;
  for (auto& [group, rows] : cells) {
    std::set<std::string> shared;
    for (const auto& [seed, m] : rows.begin()->second) shared.insert(seed);
    for (const auto& [rank, seeds] : rows)
      for (auto it = shared.begin(); it != shared.end();) it = seeds.count(*it) ? std::next(it) : shared.erase(it);
    if (shared.empty()) {
      unshared = true;
      continue;
    }
    for (auto& [rank, seeds] : rows)
      for (auto it = seeds.begin(); it != seeds.end();)
        if (shared.count(it->first)) {
          ++it;
        } else {
          it = seeds.erase(it);
          ++dropped;
        }
  }

  report::Table table;
  table.caption = "Table 3: classification and image quality of the frequency calibration variants (mean ± std over seeds)";
  table.columns = {"Variant", "AUC", "Acc", "PSNR", "SSIM", "ΔAUC", "ΔAcc", "ΔPSNR", "ΔSSIM", "n"};
  const char* keys[4] = {"auc", "accuracy", "psnr", "ssim"};
  const int precision[4] = {3, 3, 2, 3};
  for (const auto& [group, rows] : cells) {
    std::optional<std::array<double, 4>> previous;
    for (const auto& [rank, seeds] : rows) {
      report::TableRow row;
      row.group = group;
      row.cells.push_back(report::TableCell::label(variants[rank].second));
      std::array<double, 4> means{};
      for (int k = 0; k < 4; ++k) {
        std::vector<double> values;
        for (const auto& [seed, m] : seeds) values.push_back(m.contains(keys[k]) && m[keys[k]].is_number() ? m[keys[k]].get<double>() : NAN);
        row.cells.push_back(report::TableCell::mean_std(values, precision[k]));
        double sum = 0;
        for (double v : values) sum += v;
        means[k] = values.empty() ? NAN : sum / static_cast<double>(values.size());
      }
      // The paper's ↑/↓ between consecutive rows (the first row has none).
      for (int k = 0; k < 4; ++k) {
        if (!previous || std::isnan(means[k]) || std::isnan((*previous)[k])) {
          row.cells.push_back(report::TableCell::label("–"));
          continue;
        }
        const double delta = means[k] - (*previous)[k];
        row.cells.push_back(report::TableCell::label(fmt::format("{} {:.{}f}", delta >= 0 ? "↑" : "↓", std::fabs(delta), precision[k])));
      }
      row.cells.push_back(report::TableCell::label(std::to_string(seeds.size())));
      previous = means;
      table.rows.push_back(row);
    }
  }
  table.mark_best_all(1, 4, true);
  table.notes.push_back(
      "PSNR / SSIM: each variant's calibrated synthetic images against the uncalibrated ones (PSNR per image capped at "
      "100 dB; SSIM Gaussian 11x11). Δ: change of the mean from the row above, as the paper prints it. Bold: best, "
      "underlined: second within each dataset / backbone group.");
  if (dropped > 0)
    table.notes.push_back(fmt::format("Each group's rows use the seeds all its variants share ({} record{} of other "
                                      "seeds left out).",
                                      dropped, dropped == 1 ? "" : "s"));
  if (unshared) table.notes.push_back("Some groups' variants share no seed: their rows average different seeds.");
  if (const std::string note = frerec_randomness_note(records); !note.empty()) table.notes.push_back(note);
  return table;
}

std::optional<report::Table> make_positive_control_table(const std::vector<nlohmann::json>& records) {
  const std::string key = "data.synthetic.known_bias.operator";
  // task / backbone -> operator -> method -> seed -> metrics
  std::map<std::string, std::map<std::string, std::map<std::string, std::map<std::string, nlohmann::json>>>> cells;
  for (const auto& record : records) {
    if (!record.contains("coordinates") || !record["coordinates"].contains(key)) continue;
    const std::string group = coordinate(record, "data.name") + " / " + coordinate(record, "model.name");
    cells[group][coordinate(record, key)][coordinate(record, "method.name")][coordinate(record, "seed")] =
        record["metrics"];
  }
  if (cells.empty()) return std::nullopt;
  const std::vector<std::string> operator_order = {"checkerboard", "blur", "hf_noise"};
  const std::vector<std::string> method_order = {"gda", "gda_shr", "gda_rhm", "gda_rhm_restormer", "gda_frerec"};
  auto ordered = [](const auto& map, const std::vector<std::string>& first) {
    std::vector<std::string> keys;
    for (const auto& name : first)
      if (map.count(name)) keys.push_back(name);
    for (const auto& [name, _] : map)
      if (std::find(keys.begin(), keys.end(), name) == keys.end()) keys.push_back(name);
    return keys;
  };
  auto number = [](const nlohmann::json& metrics, const char* name) {
    return metrics.contains(name) && metrics[name].is_number() ? metrics[name].get<double>() : NAN;
  };
  auto mean_of = [](const std::vector<double>& values) {
    double sum = 0;
    std::size_t n = 0;
    for (double v : values)
      if (!std::isnan(v)) sum += v, ++n;
    return n == 0 ? NAN : sum / static_cast<double>(n);
  };
  std::map<std::string, std::string> labels;
  for (const auto& [name, label] : table3_variants()) labels[name] = label;
  labels["gda"] = "GDA (biased pool)";

  report::Table table;
  table.caption = "Positive control: known frequency biases and what recalibration recovers (mean ± std over seeds)";
  table.columns = {"Row", "AUC", "gap before", "gap after", "recovery [95% CI]", "n"};
  bool missing_oracle = false;
  for (const auto& [group, operators] : cells) {
    const auto oracle_it = operators.find("none");
    const std::map<std::string, nlohmann::json>* oracle = nullptr;
    if (oracle_it != operators.end() && oracle_it->second.count("gda")) oracle = &oracle_it->second.at("gda");
    for (const auto& op : ordered(operators, operator_order)) {
      if (op == "none") continue;
      const auto& methods = operators.at(op);
      const auto biased_it = methods.find("gda");
      // The pool's gap before calibration is the same for every row of the operator.
      std::vector<double> before;
      for (const auto& [method, seeds] : methods)
        for (const auto& [seed, m] : seeds) before.push_back(number(m, "spectral_gap_before"));
      const double gap_before = mean_of(before);
      if (oracle) {
        report::TableRow row;
        row.group = group + " / " + op;
        std::vector<double> auc;
        for (const auto& [seed, m] : *oracle) auc.push_back(number(m, "auc"));
        row.cells = {report::TableCell::label("oracle (unbiased pool)"), report::TableCell::mean_std(auc),
                     report::TableCell::label("–"), report::TableCell::label("–"), report::TableCell::label("1 (by definition)"),
                     report::TableCell::label(std::to_string(auc.size()))};
        table.rows.push_back(row);
      } else {
        missing_oracle = true;
      }
      for (const auto& method : ordered(methods, method_order)) {
        const auto& seeds = methods.at(method);
        report::TableRow row;
        row.group = group + " / " + op;
        std::vector<double> auc, after;
        for (const auto& [seed, m] : seeds) {
          auc.push_back(number(m, "auc"));
          after.push_back(number(m, "spectral_gap_after"));
        }
        const double gap_after = method == "gda" ? gap_before : mean_of(after);
        std::string recovery = "–";
        if (oracle && biased_it != methods.end() && method != "gda") {
          std::vector<double> gained, possible;  // paired by seed: row − biased, oracle − biased
          for (const auto& [seed, m] : seeds) {
            if (!biased_it->second.count(seed) || !oracle->count(seed)) continue;
            const double biased = number(biased_it->second.at(seed), "auc");
            gained.push_back(number(m, "auc") - biased);
            possible.push_back(number(oracle->at(seed), "auc") - biased);
          }
          const double top = std::accumulate(gained.begin(), gained.end(), 0.0);
          const double bottom = std::accumulate(possible.begin(), possible.end(), 0.0);
          if (!gained.empty() && bottom > 0) {
            const auto [low, high] = report::bootstrap_ratio_ci(gained, possible);
            recovery = fmt::format("{:.2f} [{:.2f}, {:.2f}] ({} seeds)", top / bottom, low, high, gained.size());
          } else if (!gained.empty()) {
            recovery = "n/a (oracle ≤ biased: the bias cost no AUC)";
          }
        }
        const auto label = labels.count(method) ? labels.at(method) : method;
        row.cells = {report::TableCell::label(label), report::TableCell::mean_std(auc),
                     std::isnan(gap_before) ? report::TableCell::label("–") : report::TableCell::number(gap_before, 4),
                     std::isnan(gap_after) ? report::TableCell::label("–") : report::TableCell::number(gap_after, 4),
                     report::TableCell::label(recovery), report::TableCell::label(std::to_string(seeds.size()))};
        table.rows.push_back(row);
      }
    }
  }
  table.notes.push_back(
      "Recovery: (AUC_row − AUC_biased) / (AUC_oracle − AUC_biased), sums over the seeds the three rows share (paired "
      "by seed number), 95% percentile bootstrap over those seeds (10,000 resamples); 1 = all the AUC the bias cost "
      "is back, 0 = none, < 0 = worse than the biased pool; n/a where the oracle does not beat the biased pool. Gap: high-band spectral gap of the synthetic pool to the "
      "real training images (mean |profile difference|), before and after the row's calibration; GDA's is the "
      "biased pool's.");
  if (missing_oracle)
    table.notes.push_back("Some groups have no oracle row (known_bias operator none with GDA): no recovery there.");
  if (const std::string note = frerec_randomness_note(records); !note.empty()) table.notes.push_back(note);
  return table;
}

std::optional<LearningCurve> make_learning_curve(const std::vector<nlohmann::json>& records, double plateau_tolerance) {
  const std::string key = "train.steps";
  // group -> method -> steps -> seed -> AUC
  std::map<std::string, std::map<std::string, std::map<long long, std::map<std::string, double>>>> cells;
  for (const auto& record : records) {
    if (!record.contains("coordinates") || !record["coordinates"].contains(key)) continue;
    const std::string group = group_of(record, key);
    const long long steps = std::strtoll(coordinate(record, key).c_str(), nullptr, 10);
    cells[group][coordinate(record, "method.name")][steps][coordinate(record, "seed")] =
        record["metrics"].value("auc", std::nan(""));
  }
  if (cells.empty()) return std::nullopt;
  LearningCurve curve;
  report::Table& table = curve.table;
  table.caption = "Learning curve: test AUC against the number of optimiser steps (mean ± std over seeds)";
  table.columns = {"Method", "Steps", "AUC", "n", "ΔAUC vs the budget below", "Plateau"};
  for (const auto& [group, methods] : cells) {
    auto& panel = curve.panels.emplace_back(group, std::vector<std::pair<std::string, std::vector<std::array<double, 3>>>>{});
    for (const auto& [method, budgets] : methods) {
      std::vector<long long> steps;
      std::vector<double> means;
      for (const auto& [s, seeds] : budgets) {
        std::vector<double> auc;
        for (const auto& [seed, value] : seeds) auc.push_back(value);
        steps.push_back(s);
        means.push_back(std::accumulate(auc.begin(), auc.end(), 0.0) / static_cast<double>(auc.size()));
      }
      // The plateau: the first budget that no larger budget beats by more than the tolerance.
      std::size_t plateau = steps.size();
      for (std::size_t i = 0; i < steps.size() && plateau == steps.size(); ++i)
        if (std::all_of(means.begin() + static_cast<std::ptrdiff_t>(i), means.end(),
                        [&](double m) { return m - means[i] <= plateau_tolerance; }))
          plateau = i;
      auto& series = panel.second.emplace_back(method, std::vector<std::array<double, 3>>{});
      const std::map<std::string, double>* below = nullptr;
      std::size_t index = 0;
      for (const auto& [s, seeds] : budgets) {
        std::vector<double> auc;
        for (const auto& [seed, value] : seeds) auc.push_back(value);
        const report::TableCell summary = report::TableCell::mean_std(auc);
        series.second.push_back({static_cast<double>(s), summary.value.value_or(NAN), summary.spread.value_or(0.0)});
        std::string delta = "–";
        if (below != nullptr) {
          std::vector<double> differences;
          for (const auto& [seed, value] : seeds)
            if (const auto other = below->find(seed); other != below->end()) differences.push_back(value - other->second);
          if (!differences.empty()) {
            const double mean = std::accumulate(differences.begin(), differences.end(), 0.0) /
                                static_cast<double>(differences.size());
            delta = fmt::format("{:+.3f} ({} paired)", mean, differences.size());
          }
        }
        report::TableRow row;
        row.group = group;
        row.cells = {report::TableCell::label(method), report::TableCell::label(std::to_string(s)), summary,
                     report::TableCell::label(std::to_string(auc.size())), report::TableCell::label(delta),
                     report::TableCell::label(index == plateau ? "from here" : "")};
        table.rows.push_back(row);
        below = &seeds;
        ++index;
      }
      if (plateau == steps.size() - 1 && steps.size() > 1 && means.back() - means[means.size() - 2] > plateau_tolerance)
        table.rows.back().cells.back() = report::TableCell::label("not reached");
    }
  }
  table.notes.push_back(fmt::format(
      "Each budget is its own run (its learning-rate schedule spans exactly those steps), so a point is what a cell "
      "trained for that many steps reaches, not a checkpoint of a longer run. ΔAUC: mean paired difference from the "
      "next smaller budget over the seeds both ran. Plateau: the smallest budget that no larger budget beats by more "
      "than {:.3f} mean AUC; \"not reached\" when the largest budget still gains more than that over the one below.",
      plateau_tolerance));
  return curve;
}

std::string write_table2(const std::vector<nlohmann::json>& records, const std::vector<nlohmann::json>& left_out,
                         const fs::path& experiment_dir) {
  std::string written;
  // Table 2: the rows of the Table 2 methods (ablation-only experiments have none).
  const auto order = table2_method_order();
  const auto variants = table3_variants();
  auto is_variant = [&](const nlohmann::json& record) {
    const std::string method = coordinate(record, "method.name");
    return std::any_of(variants.begin(), variants.end(), [&](const auto& v) { return v.first == method; });
  };
  auto in_table2 = [&](const nlohmann::json& record) {
    const std::string method = coordinate(record, "method.name");
    const bool ablation = method != "gda_frerec" && is_variant(record);
    return !ablation || std::find(order.begin(), order.end(), method) != order.end();
  };
  std::vector<nlohmann::json> table2_records;
  std::copy_if(records.begin(), records.end(), std::back_inserter(table2_records), in_table2);
  if (!table2_records.empty()) {
    report::Table table2 = make_table2(table2_records, "gda");
    const auto left_out_here = std::count_if(left_out.begin(), left_out.end(), in_table2);
    if (left_out_here > 0) table2.notes.push_back(left_out_note(static_cast<std::size_t>(left_out_here)));
    report::save_table(table2, experiment_dir / "table2");
    written += fmt::format("  {0}/table2.md\n  {0}/table2.csv\n  {0}/table2.tex\n", experiment_dir.string());
  }
  if (auto table3 = make_table3(records)) {
    const auto left_out_here = std::count_if(left_out.begin(), left_out.end(), is_variant);
    if (left_out_here > 0) table3->notes.push_back(left_out_note(static_cast<std::size_t>(left_out_here)));
    report::save_table(*table3, experiment_dir / "table3");
    written += fmt::format("  {0}/table3.md\n  {0}/table3.csv\n  {0}/table3.tex\n", experiment_dir.string());
  }
  if (auto curve = make_learning_curve(records)) {
    if (!left_out.empty()) curve->table.notes.push_back(left_out_note(left_out.size()));
    report::save_table(curve->table, experiment_dir / "learning_curve");
    report::Figure figure;
    figure.title = "Test AUC against steps (± std over seeds)";
    figure.columns = std::min<int>(3, static_cast<int>(curve->panels.size()));
    for (const auto& [group, methods] : curve->panels) {
      report::LinePlot plot;
      plot.title = group;
      plot.x_label = "steps";
      plot.y_label = "test AUC";
      plot.log_x = true;
      std::set<double> budgets;  // ticks at the measured budgets (125, 250, ... are not powers of two)
      for (const auto& [method, points] : methods) {
        report::LineSeries series;
        series.label = method;
        series.markers = true;
        for (const auto& [steps, mean, spread] : points) {
          budgets.insert(steps);
          series.x.push_back(steps);
          series.y.push_back(mean);
          series.spread.push_back(spread);
        }
        plot.series.push_back(std::move(series));
      }
      plot.x_ticks.assign(budgets.begin(), budgets.end());
      // One method: named in the title, no legend box over the curve's last points.
      if (plot.series.size() == 1) {
        plot.title += " (" + plot.series.front().label + ")";
        plot.series.front().label.clear();
      }
      figure.panels.emplace_back(std::move(plot));
    }
    report::save_figure(figure, experiment_dir / "learning_curve");
    written += fmt::format("  {0}/learning_curve.md\n  {0}/learning_curve.csv\n  {0}/learning_curve.tex\n"
                           "  {0}/learning_curve.png\n  {0}/learning_curve.svg\n",
                           experiment_dir.string());
  }
  if (auto control = make_positive_control_table(records)) {
    report::save_table(*control, experiment_dir / "positive_control");
    written += fmt::format("  {0}/positive_control.md\n  {0}/positive_control.csv\n  {0}/positive_control.tex\n",
                           experiment_dir.string());
  }
  return written;
}

}  // namespace frerec::experiments
