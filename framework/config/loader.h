// Loading experiment configs (shared/DESIGN.md §5).
//
//  * `_base_: path` or `_base_: [a.yaml, b.yaml]`, relative to the including file: bases
//    are loaded (recursively) and deep-merged in order, then the file itself on top.
//    Mappings merge key by key, later wins; lists and scalars are replaced;
//    `_delete_: true` inside a mapping replaces the inherited mapping instead of merging.
//  * Command-line overrides `a.b=value` and `a.list.1.b=value` (values parsed as YAML).
//  * Sweeps: `key=[v1,v2]` on the command line, or a top-level `grid:` block mapping
//    dotted keys to lists of values. A list-valued key (per the schema) set to a flat list
//    of scalars is a value, not a sweep; sweep such a key with a list of lists.
//  * Provenance: every full key remembers "file:line" or "command line" for messages.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "framework/config/schema.h"

namespace frerec::config {

struct Sweep {
  std::string key;                // dotted key, e.g. "method.name" or "seed"
  std::vector<YAML::Node> values; // one per grid coordinate
  std::string where;              // provenance of the sweep
};

struct LoadedConfig {
  YAML::Node root;                         // merged file(s) + overrides, without `grid`/`_base_`
  Provenance provenance;
  std::vector<Sweep> sweeps;               // from `grid:` then the command line (a later one for the same key wins)
  std::vector<std::string> overrides;      // the command-line overrides as given
  std::vector<std::filesystem::path> files;// every file read, main file first
};

// Reads `file` with its bases and applies `overrides`. `is_list_key(dotted)` tells whether
// a key holds a list by schema (so `key=[1,2]` sets it rather than sweeping it).
LoadedConfig load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                         const std::function<bool(const std::string&)>& is_list_key = {});

// Loads YAML text (no bases); `name` is used in messages.
YAML::Node parse_yaml_text(const std::string& text, const std::string& name, Provenance* provenance);
// What parse_yaml_text checks in every parsed node (ConfigError naming `name`): a key given
// twice in one mapping, a key that is not a plain name, nesting deeper than 64 levels (an
// alias inside its own anchor).
void check_yaml_keys(const YAML::Node& node, const std::string& name);

// Deep merge `top` into `base` (in place) following the rules above.
void deep_merge(YAML::Node& base, const YAML::Node& top);

// Sets `root[a][b][1][c] = value` for key "a.b.1.c", creating mappings as needed.
// Throws ConfigError if a list index is out of range or a path crosses a scalar.
void set_by_path(YAML::Node& root, const std::string& dotted_key, const YAML::Node& value);
// Returns the node at a dotted path, or an undefined node.
YAML::Node get_by_path(const YAML::Node& root, const std::string& dotted_key);

// Canonical text of a node (sorted mapping keys, fixed formatting) for hashing.
std::string canonical_text(const YAML::Node& node);
// Pretty YAML for writing config.yaml.
std::string to_yaml(const YAML::Node& node);

}  // namespace frerec::config
