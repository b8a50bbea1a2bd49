#include "framework/runner/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "framework/config/experiment_schema.h"
#include "framework/config/interpolation.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"

namespace frerec {
namespace {

int coordinate_rank(const std::string& key) {
  if (key == "data.name") return 0;
  if (key == "method.name") return 1;
  if (key == "model.name") return 2;
  if (key == "seed") return 4;
  return 3;
}

std::string value_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsNull()) return "null";
  return config::canonical_text(node);
}

std::string sanitize(std::string text) {
  for (char& c : text)
    if (c == '/' || c == '\\' || c == ' ' || c == '"' || c == '\'' || c == ':' || c == '*' || c == '?') c = '_';
  if (text.empty() || text == "." || text == "..") text = "_" + text;
  return text;
}

// Experiment and suite names are one folder below the results folder: no separators, not
// '.' or '..' (which would put plan.json, tables and cells outside it).
bool is_plain_folder_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

std::string part_of(const YAML::Node& config, const std::string& key) {
  const YAML::Node value = config::get_by_path(config, key);
  return value && value.IsScalar() ? sanitize(value.Scalar()) : "none";
}

// The method part of a cell id: method.name, or "<name>-<label>" when the selected method's
// block has a non-empty `label` (a Python method: one row per user method, plan.h).
std::string method_part(const YAML::Node& config) {
  const std::string name = part_of(config, "method.name");
  const YAML::Node label = config::get_by_path(config, "method." + name + ".label");
  if (label && label.IsScalar() && !label.Scalar().empty()) return name + "-" + sanitize(label.Scalar());
  return name;
}

}  // namespace

std::string config_hash(const YAML::Node& config) {
  // The experiment's name and description do not change what a cell computes.
  YAML::Node copy = YAML::Clone(config);
  if (copy["experiment"] && copy["experiment"].IsMap()) {
    copy["experiment"].remove("name");
    copy["experiment"].remove("description");
  }
  return sha256_hex(config::canonical_text(copy));
}

bool is_suite_file(const std::filesystem::path& config_file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(config_file.string());
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: not valid YAML: {}", config_file.string(), e.what()));
  }
  return root.IsMap() && root["suite"];
}

Suite make_suite(const std::filesystem::path& config_file, const std::vector<std::string>& overrides) {
  const YAML::Node root = YAML::LoadFile(config_file.string());
  const std::string where = config_file.string();
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    if (key != "suite")
      throw ConfigError(fmt::format("{}:{}: '{}': a suite file holds only a 'suite' block (name, description, parts)",
                                    where, item.first.Mark().line + 1, key));
  }
  const YAML::Node suite_node = root["suite"];
  if (!suite_node.IsMap()) throw ConfigError(where + ": 'suite' must be a mapping {name, description, parts}");
  Suite suite;
  suite.config_file = config_file;
  for (const auto& item : suite_node) {
    const std::string key = item.first.as<std::string>();
    if (key != "name" && key != "description" && key != "parts") {
      const std::string hint = config::closest_key(key, {"name", "description", "parts"});
      throw ConfigError(fmt::format("{}:{}: unknown key 'suite.{}'{}", where, item.first.Mark().line + 1, key,
                                    hint.empty() ? "" : " (did you mean 'suite." + hint + "'?)"));
    }
  }
  suite.name = suite_node["name"] ? suite_node["name"].as<std::string>() : config_file.stem().string();
  if (!is_plain_folder_name(suite.name))
    throw ConfigError(where + ": suite.name '" + suite.name + "' must be a plain folder name (no '/', not '.' or '..')");
  suite.description = suite_node["description"] ? suite_node["description"].as<std::string>() : "";
  const YAML::Node parts = suite_node["parts"];
  if (!parts || !parts.IsSequence() || parts.size() == 0)
    throw ConfigError(where + ": suite.parts must be a non-empty list of experiment configs (paths relative to this file)");
  std::vector<std::string> part_overrides = overrides;
  part_overrides.push_back("experiment.name=" + suite.name);
  std::size_t offset = 0;
  std::map<std::string, std::string> seen;  // cell id -> config hash
  for (const auto& part : parts) {
    const std::filesystem::path file = config_file.parent_path() / part.as<std::string>();
    if (!std::filesystem::is_regular_file(file))
      throw ConfigError(fmt::format("{}:{}: suite part '{}' not found ({})", where, part.Mark().line + 1,
                                    part.as<std::string>(), file.string()));
    if (is_suite_file(file)) throw ConfigError(where + ": suite part '" + file.string() + "' is itself a suite");
    ExperimentPlan plan = make_plan(file, part_overrides);
    // A cell shared by two parts (e.g. GDA+FreRec in Table 2 and Table 3) runs once; the
    // same folder with a different configuration would overwrite results.
    std::vector<Cell> unique;
    for (auto& cell : plan.cells) {
      const auto it = seen.find(cell.id);
      if (it != seen.end()) {
        if (it->second != cell.config_hash)
          throw ConfigError(fmt::format("{}: parts disagree on the configuration of cell '{}' ({}); give them "
                                        "different experiment kinds or settings that appear in the cell id",
                                        where, cell.id, file.string()));
        continue;
      }
      seen.emplace(cell.id, cell.config_hash);
      cell.index = offset + unique.size();
      unique.push_back(std::move(cell));
    }
    plan.cells = std::move(unique);
    plan.listing_file = "plan." + file.stem().string() + ".json";
    offset += plan.cells.size();
    suite.plans.push_back(std::move(plan));
  }
  return suite;
}

ExperimentPlan make_plan(const std::filesystem::path& config_file, const std::vector<std::string>& overrides) {
  const config::LoadedConfig loaded =
      config::load_config(config_file, overrides, [](const std::string& key) { return config::is_list_key(key); });
  return make_plan(loaded, config_file);
}

ExperimentPlan make_plan(const config::LoadedConfig& loaded, const std::filesystem::path& config_file) {
  ExperimentPlan plan;
  plan.config_file = config_file;
  plan.overrides = loaded.overrides;
  plan.sweeps = loaded.sweeps;
  std::stable_sort(plan.sweeps.begin(), plan.sweeps.end(), [](const config::Sweep& a, const config::Sweep& b) {
    return coordinate_rank(a.key) < coordinate_rank(b.key);
  });

  std::size_t total = 1;
  for (const auto& sweep : plan.sweeps) total *= sweep.values.size();
  if (total > 100000) throw ConfigError(fmt::format("grid: {} cells is more than the 100000 allowed", total));

  std::vector<std::size_t> digits(plan.sweeps.size(), 0);
  for (std::size_t index = 0; index < total; ++index) {
    // Mixed-radix decomposition with the last sweep (seed) varying fastest.
    std::size_t rest = index;
    for (std::size_t k = plan.sweeps.size(); k-- > 0;) {
      digits[k] = rest % plan.sweeps[k].values.size();
      rest /= plan.sweeps[k].values.size();
    }
    YAML::Node root = YAML::Clone(loaded.root);
    config::Provenance provenance = loaded.provenance;
    Cell cell;
    cell.index = index;
    for (std::size_t k = 0; k < plan.sweeps.size(); ++k) {
      const auto& sweep = plan.sweeps[k];
      config::set_by_path(root, sweep.key, sweep.values[digits[k]]);
      provenance.set(sweep.key, sweep.where);
      cell.coordinates.emplace_back(sweep.key, value_text(sweep.values[digits[k]]));
    }
    config::resolve_interpolations(root, provenance);
    cell.config = config::validate_experiment(root, provenance);
    if (cell.config["experiment"]["name"].as<std::string>().empty())
      cell.config["experiment"]["name"] = config_file.stem().string();
    if (const std::string name = cell.config["experiment"]["name"].as<std::string>(); !is_plain_folder_name(name)) {
      const std::string where = provenance.where("experiment.name");
      throw ConfigError(fmt::format("{}{}experiment.name '{}' must be a plain folder name (no '/', not '.' or '..'): "
                                    "results go to <results-dir>/<name>",
                                    where, where.empty() ? "" : ": ", name));
    }
    cell.config_hash = config_hash(cell.config);

    std::vector<std::string> parts = {part_of(cell.config, "data.name"), method_part(cell.config),
                                      part_of(cell.config, "model.name")};
    // Cells of other kinds than the Table 2 cell live beside it in a suite's folder.
    const std::string kind = cell.config["experiment"]["kind"].as<std::string>();
    if (kind != kDefaultKind) parts.insert(parts.begin(), sanitize(kind));
    for (const auto& [key, value] : cell.coordinates)
      if (coordinate_rank(key) == 3) parts.push_back(sanitize(key + "=" + value));
    parts.push_back("seed=" + cell.config["seed"].as<std::string>());
    cell.id = fmt::format("{}", fmt::join(parts, "/"));
    plan.cells.push_back(std::move(cell));
  }
  if (!plan.cells.empty()) {
    plan.name = plan.cells.front().config["experiment"]["name"].as<std::string>();
    plan.kind = plan.cells.front().config["experiment"]["kind"].as<std::string>();
  }
  // Two cells must never share a folder (e.g. a sweep over a key missing from the id).
  std::vector<std::string> ids;
  for (const auto& c : plan.cells) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  const auto dup = std::adjacent_find(ids.begin(), ids.end());
  if (dup != ids.end()) throw ConfigError("grid: two cells would share the folder '" + *dup + "'");
  return plan;
}

std::string describe_plan(const ExperimentPlan& plan) {
  std::string text = fmt::format("experiment '{}' ({}): {} cell{}\n", plan.name, plan.kind, plan.cells.size(),
                                 plan.cells.size() == 1 ? "" : "s");
  for (const auto& cell : plan.cells) text += fmt::format("  [{}] {}\n", cell.index, cell.id);
  return text;
}

}  // namespace frerec
