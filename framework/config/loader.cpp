#include "framework/config/loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "framework/config/interpolation.h"
#include "framework/core/error.h"

namespace frerec::config {
namespace fs = std::filesystem;
namespace {

std::string display_path(const fs::path& path) {
  std::error_code ec;
  const fs::path relative = fs::relative(path, fs::current_path(), ec);
  if (!ec && !relative.empty() && relative.string().rfind("..", 0) != 0) return relative.string();
  return path.string();
}

void record_provenance(const YAML::Node& node, const std::string& prefix, const std::string& file,
                       Provenance& provenance) {
  if (!prefix.empty()) provenance.set(prefix, fmt::format("{}:{}", file, node.Mark().line + 1));
  if (node.IsMap()) {
    for (const auto& item : node) {
      const std::string key = item.first.as<std::string>();
      const std::string full = prefix.empty() ? key : prefix + "." + key;
      provenance.set(full, fmt::format("{}:{}", file, item.first.Mark().line + 1));
      record_provenance(item.second, full, file, provenance);
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      record_provenance(node[i], fmt::format("{}.{}", prefix, i), file, provenance);
  }
}

bool is_flat_scalar_list(const YAML::Node& node) {
  if (!node.IsSequence()) return false;
  for (const auto& item : node)
    if (!item.IsScalar() && !item.IsNull()) return false;
  return true;
}

YAML::Node load_recursive(const fs::path& file, Provenance& provenance, std::vector<fs::path>& files,
                          std::vector<fs::path>& stack) {
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(file, ec);
  if (!fs::exists(canonical)) {
    const std::string parent = stack.empty() ? "" : display_path(stack.back()) + ": ";
    throw ConfigError(fmt::format("{}config file '{}' does not exist", parent, file.string()));
  }
  if (std::find(stack.begin(), stack.end(), canonical) != stack.end())
    throw ConfigError(fmt::format("{}: _base_ cycle through '{}'", display_path(stack.back()), display_path(canonical)));
  stack.push_back(canonical);
  files.push_back(canonical);
  std::ifstream in(canonical);
  std::stringstream text;
  text << in.rdbuf();
  Provenance own;
  YAML::Node node = parse_yaml_text(text.str(), display_path(canonical), &own);
  if (!node.IsNull() && !node.IsMap())
    throw ConfigError(fmt::format("{}: a config file must be a mapping of keys", display_path(canonical)));

  YAML::Node merged(YAML::NodeType::Map);
  if (node.IsMap() && node["_base_"]) {
    const YAML::Node bases = node["_base_"];
    std::vector<std::string> names;
    if (bases.IsScalar())
      names.push_back(bases.Scalar());
    else if (bases.IsSequence())
      for (const auto& b : bases) {
        if (!b.IsScalar())
          throw ConfigError(fmt::format("{}: _base_ must be a path or a list of paths (an entry is a {})",
                                        own.where("_base_"), b.IsMap() ? "mapping" : "list"));
        names.push_back(b.Scalar());
      }
    else
      throw ConfigError(fmt::format("{}: _base_ must be a path or a list of paths", own.where("_base_")));
    for (const auto& name : names) {
      YAML::Node base = load_recursive(canonical.parent_path() / name, provenance, files, stack);
      deep_merge(merged, base);
    }
    node.remove("_base_");
  }
  provenance.merge(own);
  if (node.IsMap()) deep_merge(merged, node);
  stack.pop_back();
  return merged;
}

void strip_delete_markers(YAML::Node node) {
  if (!node.IsMap()) return;
  if (node["_delete_"]) node.remove("_delete_");
  for (auto item : node) strip_delete_markers(item.second);
}

}  // namespace

namespace {

// YAML forbids a key twice in one mapping, but yaml-cpp keeps both and answers lookups with
// the first, so `data:` written twice silently drops the second block. Refuse it, naming
// both lines; and keys that are not plain names (a mapping, a list or null as a key).
// Nesting deeper than this is refused: an alias inside its own anchor (`&a [*a]`) makes
// yaml-cpp build a cycle that every walk over the config would follow forever (found by
// fuzz_config as a stack overflow).
constexpr int kMaxDepth = 64;

void refuse_duplicate_keys(const YAML::Node& node, const std::string& name, const std::string& prefix, int depth = 0) {
  if (depth > kMaxDepth)
    throw ConfigError(fmt::format("{}: nesting deeper than {} levels at '{}' (an alias inside its own anchor?)", name,
                                  kMaxDepth, prefix.substr(0, 120)));
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      refuse_duplicate_keys(node[i], name, prefix + "." + std::to_string(i), depth + 1);
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, int> lines;
  for (const auto& item : node) {
    const int line = item.first.Mark().line + 1;
    if (!item.first.IsScalar())  // found by fuzz_config: `{a: 1, {}}` reached yaml-cpp's BadConversion
      throw ConfigError(fmt::format("{}:{}: a key{} is a {}; keys are plain names", name, line,
                                    prefix.empty() ? "" : " in '" + prefix + "'",
                                    item.first.IsMap() ? "mapping" : item.first.IsSequence() ? "list" : "null"));
    const std::string key = item.first.Scalar();
    const std::string full = prefix.empty() ? key : prefix + "." + key;
    if (const auto [it, fresh] = lines.emplace(key, line); !fresh)
      throw ConfigError(fmt::format("{}:{}: key '{}' is given twice (lines {} and {}); keep one", name, line, full,
                                    it->second, line));
    refuse_duplicate_keys(item.second, name, full, depth + 1);
  }
}

}  // namespace

void check_yaml_keys(const YAML::Node& node, const std::string& name) { refuse_duplicate_keys(node, name, ""); }

namespace {

// The values of a Hydra-style sweep override, or nullopt when `text` is not one:
// "a,b,c" (split at the commas; each part read as YAML) or "range(start,stop[,step])"
// (integers, stop excluded, as Python's range). Text that starts with a bracket, a brace or
// a quote is never split: quote a value that contains commas ('"a, b"').
std::optional<YAML::Node> hydra_sweep_values(const std::string& text, const std::string& override_text) {
  if (text.empty() || std::string("[{\"'").find(text[0]) != std::string::npos) return std::nullopt;
  YAML::Node values(YAML::NodeType::Sequence);
  // At most 12 digits per bound: std::stoll cannot overflow (found by fuzz_config).
  static const std::regex range(
      R"(^range\(\s*(-?\d{1,12})\s*,\s*(-?\d{1,12})\s*(?:,\s*(-?\d{1,12})\s*)?\)$)");
  std::smatch match;
  if (std::regex_match(text, match, range)) {
    const long long start = std::stoll(match[1]), stop = std::stoll(match[2]);
    const long long step = match[3].matched ? std::stoll(match[3]) : 1;
    if (step == 0) throw ConfigError(fmt::format("override '{}': range step must not be 0", override_text));
    for (long long v = start; step > 0 ? v < stop : v > stop; v += step) {
      values.push_back(v);
      if (values.size() > 100000) throw ConfigError(fmt::format("override '{}': more than 100000 values", override_text));
    }
    if (values.size() == 0)
      throw ConfigError(fmt::format("override '{}': the range is empty (stop is excluded, as in Python)", override_text));
    return values;
  }
  if (text.rfind("range(", 0) == 0)
    throw ConfigError(fmt::format("override '{}': write range(start, stop[, step]) with integers of at most 12 digits",
                                  override_text.substr(0, 200)));
  // Commas inside an interpolation (${oc.env:VAR,default}) do not split.
  std::vector<std::size_t> commas = top_level_commas(text);
  if (commas.empty()) return std::nullopt;
  commas.push_back(std::string::npos);
  std::size_t start = 0;
  for (const std::size_t comma : commas) {
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (part.empty()) throw ConfigError(fmt::format("override '{}': an empty value between commas", override_text));
    try {
      values.push_back(YAML::Load(part));
    } catch (const YAML::Exception&) {
      values.push_back(YAML::Node(part));
    }
    start = comma + 1;
  }
  return values;
}

}  // namespace

YAML::Node parse_yaml_text(const std::string& text, const std::string& name, Provenance* provenance) {
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}: YAML syntax error: {}", name, e.mark.line + 1, e.msg));
  }
  check_yaml_keys(node, name);
  if (provenance) record_provenance(node, "", name, *provenance);
  return node;
}

void deep_merge(YAML::Node& base, const YAML::Node& top) {
  if (!top.IsMap() || !base.IsMap()) {
    base = YAML::Clone(top);
    return;
  }
  for (const auto& item : top) {
    const std::string key = item.first.as<std::string>();
    const YAML::Node& value = item.second;
    const bool replace = value.IsMap() && value["_delete_"] && value["_delete_"].IsScalar() &&
                         value["_delete_"].as<std::string>() == "true";
    if (replace || !value.IsMap() || !base[key] || !base[key].IsMap()) {
      YAML::Node copy = YAML::Clone(value);
      strip_delete_markers(copy);
      base[key] = copy;
    } else {
      YAML::Node child = base[key];
      deep_merge(child, value);
    }
  }
}

YAML::Node get_by_path(const YAML::Node& root, const std::string& dotted_key) {
  YAML::Node node = root;
  std::stringstream parts(dotted_key);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!node || !node.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    if (node.IsSequence()) {
      char* end = nullptr;
      const long index = std::strtol(part.c_str(), &end, 10);
      if (*end != '\0' || index < 0 || static_cast<std::size_t>(index) >= node.size())
        return YAML::Node(YAML::NodeType::Undefined);
      node.reset(node[static_cast<std::size_t>(index)]);
    } else if (node.IsMap()) {
      YAML::Node child = node[part];
      if (!child) return YAML::Node(YAML::NodeType::Undefined);
      node.reset(child);
    } else {
      return YAML::Node(YAML::NodeType::Undefined);
    }
  }
  return node;
}

void set_by_path(YAML::Node& root, const std::string& dotted_key, const YAML::Node& value) {
  std::vector<std::string> parts;
  std::stringstream stream(dotted_key);
  std::string part;
  while (std::getline(stream, part, '.')) parts.push_back(part);
  if (parts.empty() || std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.empty(); }))
    throw ConfigError(fmt::format("override: '{}' is not a valid key (use a.b.c=value)", dotted_key));
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node node = root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const std::string so_far = fmt::format("{}", fmt::join(parts.begin(), parts.begin() + i + 1, "."));
    if (node.IsSequence()) {
      char* end = nullptr;
      const long index = std::strtol(parts[i].c_str(), &end, 10);
      if (*end != '\0' || index < 0 || static_cast<std::size_t>(index) >= node.size())
        throw ConfigError(fmt::format("override '{}': '{}' is a list of {} entries; index '{}' is out of range",
                                      dotted_key, so_far.substr(0, so_far.rfind('.')), node.size(), parts[i]));
      if (last) {
        node[static_cast<std::size_t>(index)] = value;
        return;
      }
      YAML::Node child = node[static_cast<std::size_t>(index)];
      node.reset(child);
      continue;
    }
    if (!node.IsMap()) {
      if (node.IsNull()) {
        node = YAML::Node(YAML::NodeType::Map);
      } else {
        throw ConfigError(fmt::format("override '{}': '{}' is a value, not a mapping", dotted_key,
                                      so_far.substr(0, so_far.rfind('.'))));
      }
    }
    if (last) {
      node[parts[i]] = value;
      return;
    }
    if (!node[parts[i]] || node[parts[i]].IsNull()) node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    YAML::Node child = node[parts[i]];
    node.reset(child);
  }
}

LoadedConfig load_config(const fs::path& file, const std::vector<std::string>& overrides,
                         const std::function<bool(const std::string&)>& is_list_key) {
  LoadedConfig config;
  std::vector<fs::path> stack;
  config.root = load_recursive(file, config.provenance, config.files, stack);
  config.overrides = overrides;

  if (config.root["grid"]) {
    const YAML::Node grid = config.root["grid"];
    if (!grid.IsMap())
      throw ConfigError(fmt::format("{}: 'grid' must map keys to lists of values", config.provenance.where("grid")));
    for (const auto& item : grid) {
      const std::string key = item.first.as<std::string>();
      const std::string where = config.provenance.where("grid." + key);
      if (!item.second.IsSequence() || item.second.size() == 0)
        throw ConfigError(fmt::format("{}: grid key '{}' must be a non-empty list of values", where, key));
      Sweep sweep{key, {}, where};
      for (const auto& v : item.second) sweep.values.push_back(YAML::Clone(v));
      config.sweeps.push_back(sweep);
    }
    config.root.remove("grid");
  }

  for (const auto& override_text : overrides) {
    const auto eq = override_text.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError(fmt::format("override '{}' must look like key=value (e.g. train.epochs=3)", override_text));
    std::string key = override_text.substr(0, eq);
    const std::string text = override_text.substr(eq + 1);
    YAML::Node value;
    try {
      value = text.empty() ? YAML::Node("") : YAML::Load(text);
    } catch (const YAML::Exception&) {
      value = YAML::Node(text);  // not YAML: take it as a plain string
    }
    check_yaml_keys(value, fmt::format("override '{}'", override_text.substr(0, 200)));
    // Hydra's sweep forms, key=a,b,c and key=range(start,stop[,step]), as well as key=[a,b,c].
    bool hydra = false;
    if (auto values = hydra_sweep_values(text, override_text)) {
      value = *values;
      hydra = true;
    }
    // grid.<key>=[a,b] is a sweep of <key>, as in the file's grid block (a single value: a
    // sweep of one); it replaces the file's entry for that key.
    const bool grid_entry = key.rfind("grid.", 0) == 0;
    if (grid_entry) {
      key = key.substr(5);
      if (key.empty()) throw ConfigError(fmt::format("override '{}': name the swept key, e.g. grid.seed=[0,1,2]", override_text));
      if (!value.IsSequence()) {
        YAML::Node one(YAML::NodeType::Sequence);
        one.push_back(value);
        value = one;
      }
    }
    const bool list_valued = is_list_key && is_list_key(key);
    const bool sweep = grid_entry || hydra || (value.IsSequence() && !(list_valued && is_flat_scalar_list(value)));
    if (sweep) {
      if (value.size() == 0) throw ConfigError(fmt::format("override '{}': a sweep needs at least one value", override_text));
      config.sweeps.erase(std::remove_if(config.sweeps.begin(), config.sweeps.end(),
                                         [&](const Sweep& s) { return s.key == key; }),
                          config.sweeps.end());
      Sweep s{key, {}, "command line"};
      for (const auto& v : value) s.values.push_back(YAML::Clone(v));
      config.sweeps.push_back(s);
    } else {
      // A plain override of a key that a grid sweeps replaces the sweep.
      config.sweeps.erase(std::remove_if(config.sweeps.begin(), config.sweeps.end(),
                                         [&](const Sweep& s) { return s.key == key; }),
                          config.sweeps.end());
      set_by_path(config.root, key, value);
      config.provenance.set(key, "command line");
    }
  }
  return config;
}

namespace {
void emit_canonical(const YAML::Node& node, std::string& out) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      // Sort keys, not nodes: YAML::Node assignment writes through to the referenced node,
      // so swapping Nodes inside a sort would corrupt the tree.
      // Keys by their text, values kept beside them: looking a value up again by its key's
      // text fails for a null or non-scalar key (found by fuzz_config: `? [a]` or `~: x`).
      std::vector<std::string> keys;
      std::vector<YAML::Node> values;  // copy-constructed: shares, never writes through
      for (const auto& item : node) {
        std::string key;
        if (item.first.IsScalar())
          key = item.first.Scalar();
        else
          emit_canonical(item.first, key);
        keys.push_back(key);
        values.push_back(item.second);
      }
      std::vector<std::size_t> order(keys.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
      out += '{';
      for (const std::size_t i : order) {
        out += fmt::format("{:?}:", keys[i]);
        emit_canonical(values[i], out);
        out += ',';
      }
      out += '}';
      break;
    }
    case YAML::NodeType::Sequence:
      out += '[';
      for (const auto& item : node) {
        emit_canonical(item, out);
        out += ',';
      }
      out += ']';
      break;
    case YAML::NodeType::Scalar:
      out += fmt::format("{:?}", node.Scalar());
      break;
    default:
      out += "null";
  }
}
}  // namespace

std::string canonical_text(const YAML::Node& node) {
  std::string out;
  emit_canonical(node, out);
  return out;
}

std::string to_yaml(const YAML::Node& node) {
  YAML::Emitter emitter;
  emitter.SetIndent(2);
  emitter << node;
  return std::string(emitter.c_str()) + "\n";
}

}  // namespace frerec::config
