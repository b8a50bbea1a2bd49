// Component registry (shared/STYLE.md §2): every dataset, method, model, metric and
// experiment registers under its config name with a one-line description and its Schema.
//
//   * Catalog: the type-erased list of everything registered (what `frerec info` prints).
//   * Registry<Product, Args...>: the factories of one kind, e.g.
//       using MethodRegistry = Registry<std::unique_ptr<Augmentation>>;
//     Each library has an explicit register_all() that the program calls, so the linker
//     cannot drop registrations and there is no static-initialisation order problem.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "framework/config/schema.h"
#include "framework/core/error.h"

namespace frerec {

struct ComponentInfo {
  std::string kind;         // "datasets", "methods", "models", "metrics", "experiments", ...
  std::string name;         // the config name
  std::string description;  // one line
  std::shared_ptr<const config::Schema> schema;
  // Optional extra facts for `frerec info KIND NAME` (e.g. a model's parameter count).
  std::function<std::string(const config::Params&)> details;
  // Optional: completes the selected component's validated block with what changes its
  // results but is not written in the config (e.g. the SHA-256 of a Python method's source
  // file), so the cell's config hash covers it. Run by validate_experiment on the selected
  // block only; `key` is its full key ("method.python"). Throws ConfigError.
  std::function<void(YAML::Node& block, const std::string& key, const config::Provenance& provenance)> resolve = {};
};

class Catalog {
 public:
  static Catalog& instance();
  void add(ComponentInfo info);  // replaces an entry of the same kind and name
  // Sets the `resolve` hook of a registered component (ConfigError when it is not registered).
  void set_resolver(const std::string& kind, const std::string& name, decltype(ComponentInfo::resolve) resolve);
  const ComponentInfo* find(const std::string& kind, const std::string& name) const;
  std::vector<std::string> kinds() const;
  std::vector<const ComponentInfo*> list(const std::string& kind) const;
  std::vector<std::string> names(const std::string& kind) const;
  // Throws ConfigError "unknown <kind> 'x' (did you mean 'y'?); known: a, b, c".
  const ComponentInfo& require(const std::string& kind, const std::string& name, const std::string& key) const;

 private:
  std::map<std::string, std::map<std::string, ComponentInfo>> entries_;
};

template <typename Product, typename... Args>
class Registry {
 public:
  using Factory = std::function<Product(const config::Params&, Args...)>;

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, const std::string& description, config::Schema schema, Factory factory,
           std::function<std::string(const config::Params&)> details = {}) {
    factories_[name] = std::move(factory);
    Catalog::instance().add(ComponentInfo{kind_, name, description,
                                          std::make_shared<const config::Schema>(std::move(schema)),
                                          std::move(details)});
  }

  bool contains(const std::string& name) const { return factories_.count(name) > 0; }

  // `params` must already be validated against the component's schema.
  Product create(const std::string& name, const config::Params& params, Args... args) const {
    auto it = factories_.find(name);
    if (it == factories_.end()) Catalog::instance().require(kind_, name, kind_);  // throws with suggestion
    FREREC_ASSERT(it != factories_.end(), "component '" + name + "' is in the catalog but has no factory");
    return it->second(params, std::forward<Args>(args)...);
  }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Factory> factories_;
};

}  // namespace frerec
