#include "framework/config/interpolation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <vector>

#include "framework/config/loader.h"
#include "framework/core/error.h"

namespace frerec::config {
namespace {

constexpr std::size_t kMaxShown = 200;  // longest value text quoted in a message
constexpr const char* kEnvResolver = "oc.env:";
constexpr int kMaxNesting = 32;  // ${...} inside ${...}: deeper is refused, not recursed into

std::string shown(const std::string& text) {
  return text.size() <= kMaxShown ? text : text.substr(0, kMaxShown) + "...";
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool is_variable_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool is_key_path(const std::string& key) {
  if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// One piece of a value's text: literal text, or the expression inside `${...}`.
struct Piece {
  bool expression = false;
  std::string text;
};

// The index of the `}` closing the `${` whose expression starts at `begin` (nested `${...}`
// counted), or npos.
std::size_t closing_brace(const std::string& text, std::size_t begin) {
  int depth = 1;
  for (std::size_t i = begin; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) {
      ++depth;
      ++i;
    } else if (text[i] == '}' && --depth == 0) {
      return i;
    }
  }
  return std::string::npos;
}

class Resolver {
 public:
  Resolver(YAML::Node root, const Provenance& provenance, const EnvironmentLookup& environment)
      : root_(std::move(root)), provenance_(provenance), environment_(environment) {}

  void resolve_all() { resolve_subtree("", root_); }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    const std::string where = provenance_.where(key);
    throw ConfigError(fmt::format("{}{}{}: {}", where, where.empty() ? "" : ": ", key, message));
  }

  std::vector<Piece> split(const std::string& text, const std::string& key) const {
    std::vector<Piece> pieces;
    auto literal = [&](const std::string& part) {
      if (pieces.empty() || pieces.back().expression) pieces.push_back({false, ""});
      pieces.back().text += part;
    };
    for (std::size_t i = 0; i < text.size();) {
      if (text.compare(i, 3, "\\${") == 0) {
        literal("${");
        i += 3;
      } else if (text.compare(i, 2, "${") == 0) {
        const std::size_t close = closing_brace(text, i + 2);
        if (close == std::string::npos)
          fail(key, fmt::format("'{}' opens '${{' without a closing '}}' (write \\${{ for a literal '${{')", shown(text)));
        pieces.push_back({true, text.substr(i + 2, close - i - 2)});
        i = close + 1;
      } else {
        literal(std::string(1, text[i]));
        ++i;
      }
    }
    return pieces;
  }

  // The value of a scalar's text with its interpolations resolved.
  YAML::Node evaluate_text(const std::string& text, const std::string& key) {
    if (++nesting_ > kMaxNesting)
      fail(key, fmt::format("interpolations nested deeper than {} levels in '{}'", kMaxNesting, shown(text)));
    YAML::Node value = evaluate_pieces(text, key);
    --nesting_;
    return value;
  }

  YAML::Node evaluate_pieces(const std::string& text, const std::string& key) {
    const std::vector<Piece> pieces = split(text, key);
    if (pieces.size() == 1 && pieces[0].expression) return evaluate_expression(pieces[0].text, key);
    std::string out;
    for (const auto& piece : pieces) {
      if (!piece.expression) {
        out += piece.text;
        continue;
      }
      const YAML::Node value = evaluate_expression(piece.text, key);
      if (value.IsNull()) {
        out += "null";
      } else if (!value.IsScalar()) {
        fail(key, fmt::format("'${{{}}}' is a {} and cannot be part of the text '{}'; use it as the whole value",
                              shown(piece.text), value.IsMap() ? "mapping" : "list", shown(text)));
      } else {
        out += value.Scalar();
      }
    }
    return YAML::Node(out);
  }

  YAML::Node evaluate_expression(const std::string& raw, const std::string& key) {
    const std::string expression = trim(raw);
    if (expression.empty()) fail(key, "empty interpolation '${}': write ${oc.env:VAR} or ${a.b.c}");
    if (expression.rfind(kEnvResolver, 0) == 0) return environment_value(expression, key);
    if (const auto colon = expression.find(':'); colon != std::string::npos)
      fail(key, fmt::format("unknown resolver '{}' in '${{{}}}' (known: oc.env; a key is written ${{a.b.c}})",
                            shown(expression.substr(0, colon)), shown(expression)));
    if (!is_key_path(expression))
      fail(key, fmt::format("'${{{}}}' is not a key path (write ${{a.b.c}} with letters, digits, '_', '-' and dots)",
                            shown(expression)));
    return reference(expression, key);
  }

  YAML::Node environment_value(const std::string& expression, const std::string& key) {
    const std::string arguments = expression.substr(std::char_traits<char>::length(kEnvResolver));
    // The first comma outside nested ${...} separates the variable from its default.
    const std::vector<std::size_t> commas = top_level_commas(arguments);
    const std::size_t comma = commas.empty() ? std::string::npos : commas.front();
    const std::string name = trim(arguments.substr(0, comma));
    if (!is_variable_name(name))
      fail(key, fmt::format("'${{{}}}': '{}' is not an environment variable name", shown(expression), shown(name)));
    if (const auto value = environment_(name)) return YAML::Node(*value);
    if (comma == std::string::npos)
      fail(key, fmt::format("environment variable {} is not set (set it, or give a default: ${{oc.env:{},default}})",
                            name, name));
    std::string fallback = trim(arguments.substr(comma + 1));
    if (fallback == "null" || fallback == "~") return YAML::Node(YAML::NodeType::Null);
    if (fallback.size() >= 2 && (fallback.front() == '"' || fallback.front() == '\'') &&
        fallback.back() == fallback.front())
      fallback = fallback.substr(1, fallback.size() - 2);
    return evaluate_text(fallback, key);
  }

  // The resolved value at `target`, for the value of `key`.
  YAML::Node reference(const std::string& target, const std::string& key) {
    YAML::Node node = get_by_path(root_, target);
    if (!node.IsDefined()) {
      std::vector<std::string> keys;
      collect_keys(root_, "", keys);
      const std::string suggestion = closest_key(target, keys);
      fail(key, fmt::format("unknown key '{}' in '${{{}}}'{}", target, target,
                            suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)"));
    }
    resolve_subtree(target, node);
    return YAML::Clone(get_by_path(root_, target));
  }

  void collect_keys(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& keys) const {
    if (node.IsMap()) {
      for (const auto& item : node) {
        const std::string key = join_path(prefix, item.first.Scalar());
        keys.push_back(key);
        collect_keys(item.second, key, keys);
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) collect_keys(node[i], join_path(prefix, std::to_string(i)), keys);
    }
  }

  void resolve_subtree(const std::string& key, YAML::Node node) {
    if (done_.count(key)) return;
    if (std::find(stack_.begin(), stack_.end(), key) != stack_.end()) {
      const auto first = std::find(stack_.begin(), stack_.end(), key);
      std::vector<std::string> cycle(first, stack_.end());
      cycle.push_back(key);
      fail(*first, fmt::format("interpolation cycle {}", fmt::join(cycle, " -> ")));
    }
    stack_.push_back(key);
    if (node.IsMap()) {
      for (auto item : node) resolve_subtree(join_path(key, item.first.Scalar()), item.second);
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) resolve_subtree(join_path(key, std::to_string(i)), node[i]);
    } else if (node.IsScalar() && has_interpolation(node.Scalar())) {
      const YAML::Node value = evaluate_text(node.Scalar(), key);
      node = YAML::Clone(value);  // writes through into the tree
      mark_done(key, node);       // a copied subtree is resolved already
    }
    stack_.pop_back();
    done_.insert(key);
  }

  void mark_done(const std::string& key, const YAML::Node& node) {
    done_.insert(key);
    if (node.IsMap())
      for (const auto& item : node) mark_done(join_path(key, item.first.Scalar()), item.second);
    else if (node.IsSequence())
      for (std::size_t i = 0; i < node.size(); ++i) mark_done(join_path(key, std::to_string(i)), node[i]);
  }

  YAML::Node root_;
  const Provenance& provenance_;
  const EnvironmentLookup& environment_;
  std::set<std::string> done_;
  std::vector<std::string> stack_;
  int nesting_ = 0;
};

}  // namespace

std::optional<std::string> process_environment(const std::string& name) {
  if (const char* value = std::getenv(name.c_str())) return std::string(value);
  return std::nullopt;
}

std::vector<std::size_t> top_level_commas(const std::string& text) {
  std::vector<std::size_t> commas;
  for (std::size_t i = 0, depth = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) {
      ++depth;
      ++i;
    } else if (text[i] == '}' && depth > 0) {
      --depth;
    } else if (text[i] == ',' && depth == 0) {
      commas.push_back(i);
    }
  }
  return commas;
}

bool has_interpolation(const std::string& text) { return text.find("${") != std::string::npos; }

void resolve_interpolations(YAML::Node& root, const Provenance& provenance, const EnvironmentLookup& environment) {
  Resolver(root, provenance, environment).resolve_all();
}

}  // namespace frerec::config
