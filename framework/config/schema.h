// Typed configuration schemas and the validated parameter view components receive.
//
// Every registered component (dataset, method, model, ...) declares a Schema: its keys,
// their types, defaults, allowed ranges or choices and a one-line doc. Schema::validate
// checks a YAML mapping against it, fills defaults and throws ConfigError naming the
// file, line, full key and the closest valid key ("did you mean ...") on any problem.
// Components then read their values through Params, which never needs to re-check types.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace frerec::config {

// Where each full key of a merged config came from ("configs/a.yaml:12" or "command line").
class Provenance {
 public:
  void set(const std::string& key, const std::string& where) { where_[key] = where; }
  // The location of `key`, or of its closest recorded ancestor; empty if unknown.
  std::string where(const std::string& key) const;
  void merge(const Provenance& other);
  const std::map<std::string, std::string>& entries() const { return where_; }

 private:
  std::map<std::string, std::string> where_;
};

enum class Type { kBool, kInt, kFloat, kString, kIntList, kFloatList, kStringList, kMap, kAny };
const char* type_name(Type type);

class Schema;

struct Field {
  std::string name;
  Type type = Type::kAny;
  YAML::Node default_value;  // Null (IsNull) when the key is required or optional without default
  bool required = false;
  bool nullable = false;  // `null` is accepted (e.g. an optional checkpoint path)
  std::string doc;
  std::vector<std::string> choices;  // for strings: allowed values
  std::optional<double> min, max;    // for numbers and number lists: inclusive bounds
  std::shared_ptr<const Schema> sub; // for maps
};

class Schema {
 public:
  Schema() = default;

  Schema& add_bool(const std::string& name, bool default_value, const std::string& doc);
  Schema& add_int(const std::string& name, long default_value, const std::string& doc,
                  std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
  Schema& add_float(const std::string& name, double default_value, const std::string& doc,
                    std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
  Schema& add_string(const std::string& name, const std::string& default_value, const std::string& doc,
                     std::vector<std::string> choices = {});
  Schema& add_int_list(const std::string& name, std::vector<long> default_value, const std::string& doc,
                       std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
  Schema& add_float_list(const std::string& name, std::vector<double> default_value, const std::string& doc,
                         std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
  Schema& add_string_list(const std::string& name, std::vector<std::string> default_value, const std::string& doc);
  Schema& add_map(const std::string& name, Schema sub, const std::string& doc);
  // Free-form YAML (e.g. a class -> label map); the component checks it itself.
  Schema& add_any(const std::string& name, const std::string& doc, YAML::Node default_value = YAML::Node());
  // A key that must be given (no default).
  Schema& add_required(const std::string& name, Type type, const std::string& doc);
  // A key that may be absent or null (e.g. an optional path); Params::has() tells.
  Schema& add_optional(const std::string& name, Type type, const std::string& doc);

  // Allow keys not declared here whose schema is looked up at validation time (used for
  // sections holding one sub-block per registered component: `method: {name: mixup,
  // mixup: {alpha: 0.4}}`). `names` lists the allowed extra keys (for suggestions);
  // `resolver` returns the schema of one of them.
  Schema& allow_extra_keys(std::function<std::vector<std::string>()> names,
                           std::function<std::shared_ptr<const Schema>(const std::string&)> resolver);

  const std::vector<Field>& fields() const { return fields_; }
  const Field* find(const std::string& name) const;
  std::vector<std::string> key_names() const;

  // Validates `node` (a mapping or null) and returns a deep copy with defaults filled.
  // `prefix` is the full key of this mapping ("method.mixup"), used in messages.
  YAML::Node validate(const YAML::Node& node, const std::string& prefix, const Provenance& provenance) const;

  // The defaults as a YAML mapping (for docs and `frerec info`).
  YAML::Node defaults() const;
  // One line per key: "  prefix.key (type, default X): doc", each key by its full path
  // under `prefix` (the path of this schema's mapping in a config, e.g. "method.mixup"),
  // defaults as written in a config (decimals in their shortest form: 0.2, 1e-05).
  std::string describe(const std::string& indent = "  ", const std::string& prefix = "") const;

 private:
  Field& add(Field field);
  // "prefix.<component>.name" when `name` is a key of one of the extra-key components (the
  // one `node` selects with `name:` first); "" otherwise.
  std::string component_key(const YAML::Node& node, const std::string& name, const std::string& prefix) const;
  std::vector<Field> fields_;
  std::function<std::vector<std::string>()> extra_names_;
  std::function<std::shared_ptr<const Schema>(const std::string&)> extra_resolver_;
};

// A default or value as it is written in a config: decimals of a float (or float list)
// field in their shortest round-trip form (0.2, not 0.20000000000000001).
std::string written_value(const Field& field, const YAML::Node& value);

// Levenshtein distance based suggestion: the closest of `candidates` to `key`, or "".
std::string closest_key(const std::string& key, const std::vector<std::string>& candidates);

// Read-only typed access to a validated mapping.
class Params {
 public:
  Params() : node_(YAML::NodeType::Map) {}
  Params(YAML::Node node, std::string prefix) : node_(std::move(node)), prefix_(std::move(prefix)) {}

  bool has(const std::string& key) const;  // present and not null
  template <typename T>
  T get(const std::string& key) const;
  template <typename T>
  T get_or(const std::string& key, T fallback) const { return has(key) ? get<T>(key) : fallback; }
  Params sub(const std::string& key) const;
  const YAML::Node& node() const { return node_; }
  const std::string& prefix() const { return prefix_; }
  std::string full_key(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

 private:
  YAML::Node node_;
  std::string prefix_;
};

}  // namespace frerec::config

#include "framework/config/schema_inl.h"
