// OmegaConf-style interpolation in config values, resolved once a cell's config is merged
// (bases, overrides, grid values) and before it is validated, so a cell's config.yaml and
// hash hold the resolved values:
//
//   ${oc.env:VAR}           the environment variable VAR (an error when it is not set)
//   ${oc.env:VAR,default}   VAR, or `default` when VAR is not set (surrounding quotes are
//                           removed, `null` is a null value; the default may interpolate)
//   ${a.b.c}                the value of another key by its absolute dotted path (list
//                           entries by index: ${aug.ops.0.p})
//   \${                     a literal "${"
//
// A value that is exactly one interpolation takes the referenced value as it is (a mapping,
// a list, a number); inside longer text (`${oc.env:HOME}/data`) the value must be a scalar
// and is spliced into the text. Every problem — an unset variable without default, an
// unknown key, a cycle, a mapping spliced into text, a malformed `${` — is one ConfigError
// naming where the value was set ("configs/a.yaml:12" or "command line") and its key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/schema.h"

namespace frerec::config {

// Returns the value of an environment variable, or nullopt when it is not set.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (std::getenv).
std::optional<std::string> process_environment(const std::string& name);

// Resolves every interpolation in `root` in place.
void resolve_interpolations(YAML::Node& root, const Provenance& provenance,
                            const EnvironmentLookup& environment = process_environment);

// Positions of the commas in `text` that lie outside every `${...}` (the comma of
// ${oc.env:VAR,default} is inside): what splits a Hydra sweep `a,b` and an oc.env argument.
std::vector<std::size_t> top_level_commas(const std::string& text);

// Whether `text` holds an interpolation or an escaped "\${" (what resolve_interpolations
// rewrites).
bool has_interpolation(const std::string& text);

}  // namespace frerec::config
