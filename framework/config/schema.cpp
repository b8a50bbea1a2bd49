#include "framework/config/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace frerec::config {
namespace {

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string located(const Provenance& provenance, const std::string& key, const std::string& message) {
  const std::string where = provenance.where(key);
  return where.empty() ? message : where + ": " + message;
}

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  std::ostringstream out;
  out << YAML::Dump(node);
  std::string text = out.str();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

bool parse_bool(const YAML::Node& node, bool& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") return out = true, true;
  if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") return out = false, true;
  return false;
}

bool parse_long(const YAML::Node& node, long& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str() || *end != '\0') return false;
  out = value;
  return true;
}

bool parse_double(const YAML::Node& node, double& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  if (s.empty()) return false;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(value)) return false;
  out = value;
  return true;
}

}  // namespace

std::string Provenance::where(const std::string& key) const {
  std::string k = key;
  while (true) {
    auto it = where_.find(k);
    if (it != where_.end()) return it->second;
    const auto dot = k.rfind('.');
    if (dot == std::string::npos) return "";
    k = k.substr(0, dot);
  }
}

void Provenance::merge(const Provenance& other) {
  for (const auto& [key, where] : other.where_) where_[key] = where;
}

const char* type_name(Type type) {
  switch (type) {
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kString: return "string";
    case Type::kIntList: return "list of int";
    case Type::kFloatList: return "list of float";
    case Type::kStringList: return "list of string";
    case Type::kMap: return "mapping";
    case Type::kAny: return "any";
  }
  return "?";
}

std::string closest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    const std::size_t n = key.size(), m = candidate.size();
    std::vector<std::size_t> row(m + 1);
    for (std::size_t j = 0; j <= m; ++j) row[j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= m; ++j) {
        const std::size_t above = row[j];
        const std::size_t cost = std::tolower(key[i - 1]) == std::tolower(candidate[j - 1]) ? 0 : 1;
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
        diagonal = above;
      }
    }
    if (row[m] < best_distance) {
      best_distance = row[m];
      best = candidate;
    }
  }
  // Only suggest something reasonably close: at most ~half the key's length away.
  if (best.empty() || best_distance > std::max<std::size_t>(2, key.size() / 2)) return "";
  return best;
}

Field& Schema::add(Field field) {
  for (auto& existing : fields_)
    if (existing.name == field.name) return existing = std::move(field);
  fields_.push_back(std::move(field));
  return fields_.back();
}

namespace {
Field make_field(const std::string& name, Type type, YAML::Node default_value, const std::string& doc,
                 std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt) {
  Field f;
  f.name = name;
  f.type = type;
  f.default_value = std::move(default_value);
  f.doc = doc;
  f.min = min;
  f.max = max;
  return f;
}

template <typename T>
YAML::Node sequence_of(const std::vector<T>& values) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (const auto& v : values) node.push_back(v);
  return node;
}
}  // namespace

Schema& Schema::add_bool(const std::string& name, bool default_value, const std::string& doc) {
  add(make_field(name, Type::kBool, YAML::Node(default_value), doc));
  return *this;
}

Schema& Schema::add_int(const std::string& name, long default_value, const std::string& doc,
                        std::optional<double> min, std::optional<double> max) {
  add(make_field(name, Type::kInt, YAML::Node(default_value), doc, min, max));
  return *this;
}

Schema& Schema::add_float(const std::string& name, double default_value, const std::string& doc,
                          std::optional<double> min, std::optional<double> max) {
  add(make_field(name, Type::kFloat, YAML::Node(default_value), doc, min, max));
  return *this;
}

Schema& Schema::add_string(const std::string& name, const std::string& default_value, const std::string& doc,
                           std::vector<std::string> choices) {
  add(make_field(name, Type::kString, YAML::Node(default_value), doc)).choices = std::move(choices);
  return *this;
}

Schema& Schema::add_int_list(const std::string& name, std::vector<long> default_value, const std::string& doc,
                             std::optional<double> min, std::optional<double> max) {
  add(make_field(name, Type::kIntList, sequence_of(default_value), doc, min, max));
  return *this;
}

Schema& Schema::add_float_list(const std::string& name, std::vector<double> default_value, const std::string& doc,
                               std::optional<double> min, std::optional<double> max) {
  add(make_field(name, Type::kFloatList, sequence_of(default_value), doc, min, max));
  return *this;
}

Schema& Schema::add_string_list(const std::string& name, std::vector<std::string> default_value,
                                const std::string& doc) {
  add(make_field(name, Type::kStringList, sequence_of(default_value), doc));
  return *this;
}

Schema& Schema::add_map(const std::string& name, Schema sub, const std::string& doc) {
  add(make_field(name, Type::kMap, YAML::Node(), doc)).sub = std::make_shared<const Schema>(std::move(sub));
  return *this;
}

Schema& Schema::add_any(const std::string& name, const std::string& doc, YAML::Node default_value) {
  add(make_field(name, Type::kAny, default_value, doc)).nullable = true;
  return *this;
}

Schema& Schema::add_required(const std::string& name, Type type, const std::string& doc) {
  add(make_field(name, type, YAML::Node(), doc)).required = true;
  return *this;
}

Schema& Schema::add_optional(const std::string& name, Type type, const std::string& doc) {
  add(make_field(name, type, YAML::Node(), doc)).nullable = true;
  return *this;
}

Schema& Schema::allow_extra_keys(std::function<std::vector<std::string>()> names,
                                 std::function<std::shared_ptr<const Schema>(const std::string&)> resolver) {
  extra_names_ = std::move(names);
  extra_resolver_ = std::move(resolver);
  return *this;
}

const Field* Schema::find(const std::string& name) const {
  for (const auto& f : fields_)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> Schema::key_names() const {
  std::vector<std::string> names;
  for (const auto& f : fields_) names.push_back(f.name);
  if (extra_names_)
    for (auto& n : extra_names_()) names.push_back(n);
  return names;
}

namespace {

void check_bounds(const Field& field, double value, const std::string& key, const Provenance& provenance) {
  if ((field.min && value < *field.min) || (field.max && value > *field.max)) {
    std::string range = field.min && field.max ? fmt::format("[{}, {}]", *field.min, *field.max)
                        : field.min            ? fmt::format(">= {}", *field.min)
                                               : fmt::format("<= {}", *field.max);
    throw ConfigError(located(provenance, key, fmt::format("'{}' = {} is out of range: must be {}", key, value, range)));
  }
}

YAML::Node validate_value(const Field& field, const YAML::Node& value, const std::string& key,
                          const Provenance& provenance) {
  auto wrong_type = [&]() -> ConfigError {
    return ConfigError(located(provenance, key,
                               fmt::format("'{}' must be a {}, got '{}'", key, type_name(field.type), scalar_text(value))));
  };
  switch (field.type) {
    case Type::kBool: {
      bool b;
      if (!parse_bool(value, b)) throw wrong_type();
      return YAML::Node(b);
    }
    case Type::kInt: {
      long v;
      if (!parse_long(value, v)) throw wrong_type();
      check_bounds(field, static_cast<double>(v), key, provenance);
      return YAML::Node(v);
    }
    case Type::kFloat: {
      double v;
      if (!parse_double(value, v)) throw wrong_type();
      check_bounds(field, v, key, provenance);
      return YAML::Node(v);
    }
    case Type::kString: {
      if (!value.IsScalar()) throw wrong_type();
      if (!field.choices.empty() &&
          std::find(field.choices.begin(), field.choices.end(), value.Scalar()) == field.choices.end()) {
        const std::string suggestion = closest_key(value.Scalar(), field.choices);
        throw ConfigError(located(
            provenance, key,
            fmt::format("'{}' = '{}' is not one of: {}{}", key, value.Scalar(), fmt::join(field.choices, ", "),
                        suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)")));
      }
      return YAML::Node(value.Scalar());
    }
    case Type::kIntList:
    case Type::kFloatList:
    case Type::kStringList: {
      YAML::Node items = value;
      if (value.IsScalar()) {  // a single value where a list is expected: accept as one-element list
        items = YAML::Node(YAML::NodeType::Sequence);
        items.push_back(value);
      }
      if (!items.IsSequence()) throw wrong_type();
      YAML::Node out(YAML::NodeType::Sequence);
      for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string item_key = fmt::format("{}.{}", key, i);
        if (field.type == Type::kIntList) {
          long v;
          if (!parse_long(items[i], v)) throw wrong_type();
          check_bounds(field, static_cast<double>(v), item_key, provenance);
          out.push_back(v);
        } else if (field.type == Type::kFloatList) {
          double v;
          if (!parse_double(items[i], v)) throw wrong_type();
          check_bounds(field, v, item_key, provenance);
          out.push_back(v);
        } else {
          if (!items[i].IsScalar()) throw wrong_type();
          out.push_back(items[i].Scalar());
        }
      }
      return out;
    }
    case Type::kMap:
      return field.sub->validate(value, key, provenance);
    case Type::kAny:
      return YAML::Clone(value);
  }
  return YAML::Clone(value);
}

}  // namespace

std::string Schema::component_key(const YAML::Node& node, const std::string& name, const std::string& prefix) const {
  if (!extra_names_ || !extra_resolver_) return "";
  std::vector<std::string> components = extra_names_();
  if (node["name"] && node["name"].IsScalar()) {  // the selected one first
    const auto selected = std::find(components.begin(), components.end(), node["name"].Scalar());
    if (selected != components.end()) std::rotate(components.begin(), selected, selected + 1);
  }
  for (const auto& component : components)
    if (const auto schema = extra_resolver_(component); schema && schema->find(name))
      return join_key(join_key(prefix, component), name);
  return "";
}

YAML::Node Schema::validate(const YAML::Node& node, const std::string& prefix, const Provenance& provenance) const {
  if (node && !node.IsNull() && !node.IsMap())
    throw ConfigError(located(provenance, prefix,
                              fmt::format("'{}' must be a mapping of keys, got '{}'", prefix, scalar_text(node))));
  YAML::Node out(YAML::NodeType::Map);
  if (node && node.IsMap()) {
    for (const auto& item : node) {
      const std::string name = item.first.as<std::string>();
      const std::string key = join_key(prefix, name);
      const Field* field = find(name);
      if (field == nullptr) {
        std::shared_ptr<const Schema> extra;
        if (extra_resolver_) extra = extra_resolver_(name);
        if (extra) {
          out[name] = extra->validate(item.second, key, provenance);
          continue;
        }
        // A key of one of the components (model.pretrained for model.resnet50.pretrained):
        // the selected component's first, else the first component that has it.
        std::string suggestion = component_key(node, name, prefix);
        if (suggestion.empty()) {
          suggestion = closest_key(name, key_names());
          if (!suggestion.empty()) suggestion = join_key(prefix, suggestion);
        }
        throw ConfigError(located(provenance, key,
                                  fmt::format("unknown key '{}'{}", key,
                                              suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)")));
      }
      if (item.second.IsNull()) {
        if (!field->nullable && field->type != Type::kMap)
          throw ConfigError(located(provenance, key, fmt::format("'{}' must not be null", key)));
        out[name] = field->type == Type::kMap ? field->sub->validate(item.second, key, provenance) : YAML::Node();
        continue;
      }
      out[name] = validate_value(*field, item.second, key, provenance);
    }
  }
  for (const auto& field : fields_) {
    if (out[field.name]) continue;
    const std::string key = join_key(prefix, field.name);
    if (field.required)
      throw ConfigError(located(provenance, prefix, fmt::format("missing required key '{}' ({})", key, field.doc)));
    if (field.type == Type::kMap)
      out[field.name] = field.sub->validate(YAML::Node(), key, provenance);
    else if (field.default_value)
      out[field.name] = YAML::Clone(field.default_value);
    else
      out[field.name] = YAML::Node();  // optional, absent
  }
  return out;
}

YAML::Node Schema::defaults() const {
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& field : fields_) {
    if (field.type == Type::kMap)
      out[field.name] = field.sub->defaults();
    else if (field.default_value)
      out[field.name] = YAML::Clone(field.default_value);
  }
  return out;
}

std::string written_value(const Field& field, const YAML::Node& value) {
  auto decimal = [](const YAML::Node& node) {
    double v;
    return parse_double(node, v) ? fmt::format("{}", v) : scalar_text(node);
  };
  if (field.type == Type::kFloat && value.IsScalar()) return decimal(value);
  if (field.type == Type::kFloatList && value.IsSequence()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(decimal(item));
    return fmt::format("[{}]", fmt::join(items, ", "));
  }
  if (value.IsSequence()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(scalar_text(item));
    return fmt::format("[{}]", fmt::join(items, ", "));
  }
  return scalar_text(value);
}

std::string Schema::describe(const std::string& indent, const std::string& prefix) const {
  std::string text;
  for (const auto& field : fields_) {
    const std::string key = join_key(prefix, field.name);
    std::string detail = type_name(field.type);
    if (field.required)
      detail += ", required";
    else if (field.type != Type::kMap && field.default_value && !field.default_value.IsNull())
      detail += ", default " + written_value(field, field.default_value);
    if (!field.choices.empty()) detail += fmt::format(", one of {}", fmt::join(field.choices, "|"));
    text += fmt::format("{}{} ({}): {}\n", indent, key, detail, field.doc);
    if (field.type == Type::kMap) text += field.sub->describe(indent + "  ", key);
  }
  return text;
}

bool Params::has(const std::string& key) const {
  const YAML::Node value = node_[key];
  return value && !value.IsNull();
}

Params Params::sub(const std::string& key) const {
  const YAML::Node value = node_[key];
  if (!value || value.IsNull()) return Params(YAML::Node(YAML::NodeType::Map), full_key(key));
  return Params(value, full_key(key));
}

}  // namespace frerec::config
