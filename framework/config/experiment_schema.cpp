#include "framework/config/experiment_schema.h"

#include <fmt/format.h>

#include <mutex>

#include "framework/core/registry.h"

namespace frerec::config {
namespace {

std::vector<SectionSpec>& sections() {
  static std::vector<SectionSpec> all;
  return all;
}

Schema section_schema(const SectionSpec& spec) {
  Schema schema = spec.common;
  if (spec.component_kind.empty()) return schema;
  const std::string kind = spec.component_kind;
  auto names = Catalog::instance().names(kind);
  schema.add_string("name", spec.default_component, "which registered " + kind + " to use", names);
  schema.allow_extra_keys(
      [kind] { return Catalog::instance().names(kind); },
      [kind](const std::string& name) -> std::shared_ptr<const Schema> {
        const ComponentInfo* info = Catalog::instance().find(kind, name);
        return info ? info->schema : nullptr;
      });
  return schema;
}

}  // namespace

void register_section(SectionSpec spec) {
  auto& all = sections();
  for (auto& existing : all)
    if (existing.name == spec.name) {
      existing = std::move(spec);
      return;
    }
  all.push_back(std::move(spec));
}

std::vector<SectionSpec> registered_sections() { return sections(); }

Schema experiment_schema() {
  Schema schema;
  Schema experiment;
  experiment.add_string("name", "", "experiment name: results go to <results-dir>/<name> (default: config file name)");
  experiment.add_string("kind", "classify", "what each cell runs", Catalog::instance().names("experiments"));
  experiment.add_string("description", "", "free text shown in reports");
  // Settings of an experiment kind live in experiment.<kind> (e.g. experiment.figures.tsne).
  for (const ComponentInfo* info : Catalog::instance().list("experiments"))
    if (info->schema && !info->schema->fields().empty())
      experiment.add_map(info->name, *info->schema, "settings of the '" + info->name + "' kind");
  schema.add_map("experiment", experiment, "what this experiment is");
  schema.add_int("seed", 0, "training seed of a cell (sweep it for repeated runs)", 0);
  for (const auto& spec : sections()) schema.add_map(spec.name, section_schema(spec), spec.doc);
  return schema;
}

bool is_list_key(const std::string& dotted_key) {
  const Schema schema = experiment_schema();
  const Schema* current = &schema;
  std::shared_ptr<const Schema> holder;
  std::size_t start = 0;
  while (true) {
    const auto dot = dotted_key.find('.', start);
    const std::string part = dotted_key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const Field* field = current->find(part);
    if (field == nullptr) {
      // A component sub-block (e.g. method.mixup.alpha): look the component up.
      for (const auto& kind : Catalog::instance().kinds()) {
        if (const ComponentInfo* info = Catalog::instance().find(kind, part)) {
          holder = info->schema;
          break;
        }
      }
      if (!holder || dot == std::string::npos) return false;
      current = holder.get();
      start = dot + 1;
      continue;
    }
    if (dot == std::string::npos)
      return field->type == Type::kIntList || field->type == Type::kFloatList || field->type == Type::kStringList;
    if (field->type != Type::kMap) return false;
    holder = field->sub;
    current = holder.get();
    start = dot + 1;
  }
}

std::string component_config_path(const std::string& kind, const std::string& name) {
  if (kind == "experiments") return "experiment." + name;
  for (const auto& spec : sections())
    if (!spec.component_kind.empty() && spec.component_kind == kind) return spec.name + "." + name;
  return "";
}

YAML::Node validate_experiment(const YAML::Node& root, const Provenance& provenance) {
  YAML::Node validated = experiment_schema().validate(root, "", provenance);
  {  // Only the selected kind's settings stay (the hash must not depend on other kinds).
    YAML::Node experiment = validated["experiment"];
    const std::string kind = experiment["kind"].as<std::string>();
    std::vector<std::string> doomed;
    for (const auto& item : experiment) {
      const std::string key = item.first.as<std::string>();
      if (key != kind && Catalog::instance().find("experiments", key)) doomed.push_back(key);
    }
    for (const auto& key : doomed) experiment.remove(key);
  }
  for (const auto& spec : sections()) {
    if (spec.component_kind.empty()) continue;
    YAML::Node section = validated[spec.name];
    const std::string selected = section["name"].as<std::string>();
    if (selected.empty())
      throw ConfigError(provenance.where(spec.name) + (provenance.where(spec.name).empty() ? "" : ": ") +
                        "missing '" + spec.name + ".name' (one of: " +
                        fmt::format("{}", fmt::join(Catalog::instance().names(spec.component_kind), ", ")) + ")");
    std::vector<std::string> doomed;
    for (const auto& item : section) {
      const std::string key = item.first.as<std::string>();
      if (key != selected && Catalog::instance().find(spec.component_kind, key)) doomed.push_back(key);
    }
    for (const auto& key : doomed) section.remove(key);
    const ComponentInfo& info = Catalog::instance().require(spec.component_kind, selected, spec.name + ".name");
    if (!section[selected]) section[selected] = info.schema->validate(YAML::Node(), spec.name + "." + selected, provenance);
    if (info.resolve) {
      YAML::Node block = section[selected];
      info.resolve(block, spec.name + "." + selected, provenance);
    }
  }
  for (const auto& spec : sections())
    if (spec.check) spec.check(Params(validated[spec.name], spec.name));
  return validated;
}

}  // namespace frerec::config
