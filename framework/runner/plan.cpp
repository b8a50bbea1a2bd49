#include "framework/runner/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "framework/config/experiment_schema.h"
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

std::string part_of(const YAML::Node& config, const std::string& key) {
  const YAML::Node value = config::get_by_path(config, key);
  return value && value.IsScalar() ? sanitize(value.Scalar()) : "none";
}

}  // namespace

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
    cell.config = config::validate_experiment(root, provenance);
    if (cell.config["experiment"]["name"].as<std::string>().empty())
      cell.config["experiment"]["name"] = config_file.stem().string();
    cell.config_hash = sha256_hex(config::canonical_text(cell.config));

    std::vector<std::string> parts = {part_of(cell.config, "data.name"), part_of(cell.config, "method.name"),
                                      part_of(cell.config, "model.name")};
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
