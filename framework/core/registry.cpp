#include "framework/core/registry.h"

#include <fmt/format.h>

namespace frerec {

Catalog& Catalog::instance() {
  static Catalog catalog;
  return catalog;
}

void Catalog::add(ComponentInfo info) {
  auto& of_kind = entries_[info.kind];
  std::string name = info.name;
  of_kind[name] = std::move(info);
}

void Catalog::set_resolver(const std::string& kind, const std::string& name, decltype(ComponentInfo::resolve) resolve) {
  auto k = entries_.find(kind);
  if (k == entries_.end() || k->second.count(name) == 0)
    throw ConfigError("set_resolver: no " + kind + " component '" + name + "' is registered");
  k->second[name].resolve = std::move(resolve);
}

const ComponentInfo* Catalog::find(const std::string& kind, const std::string& name) const {
  auto k = entries_.find(kind);
  if (k == entries_.end()) return nullptr;
  auto n = k->second.find(name);
  return n == k->second.end() ? nullptr : &n->second;
}

std::vector<std::string> Catalog::kinds() const {
  std::vector<std::string> out;
  for (const auto& [kind, _] : entries_) out.push_back(kind);
  return out;
}

std::vector<const ComponentInfo*> Catalog::list(const std::string& kind) const {
  std::vector<const ComponentInfo*> out;
  auto k = entries_.find(kind);
  if (k == entries_.end()) return out;
  for (const auto& [_, info] : k->second) out.push_back(&info);
  return out;
}

std::vector<std::string> Catalog::names(const std::string& kind) const {
  std::vector<std::string> out;
  for (const auto* info : list(kind)) out.push_back(info->name);
  return out;
}

const ComponentInfo& Catalog::require(const std::string& kind, const std::string& name, const std::string& key) const {
  if (const auto* info = find(kind, name)) return *info;
  const auto known = names(kind);
  const std::string suggestion = config::closest_key(name, known);
  throw ConfigError(fmt::format("{}: unknown {} '{}'{}; known: {}", key, kind, name,
                                suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)",
                                known.empty() ? "(none registered)" : fmt::format("{}", fmt::join(known, ", "))));
}

}  // namespace frerec
