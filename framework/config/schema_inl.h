#pragma once
// Template part of Params (included from schema.h).
#include "framework/core/error.h"

namespace frerec::config {

template <typename T>
T Params::get(const std::string& key) const {
  const YAML::Node value = node_[key];
  if (!value || value.IsNull()) throw ConfigError("config: missing value for '" + full_key(key) + "'");
  try {
    return value.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError("config: '" + full_key(key) + "' has the wrong type");
  }
}

}  // namespace frerec::config
