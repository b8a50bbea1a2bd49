// The top-level experiment config, assembled at run time from registered sections so
// the framework needs no knowledge of datasets, methods or models (shared/DESIGN.md §5).
//
//   experiment: {name, kind, description}     (framework)
//   seed: 0                                   (framework; the training seed of a cell)
//   data:   {name: demo_mri, <common keys>, demo_mri: {...loader keys...}}
//   method: {name: gda, <common keys>, mixup: {alpha: 0.2}, ...}
//   model:  {name: resnet18, <common keys>, resnet18: {...}}
//   train:  {...}                             (plain section, no component)
//
// A component section's `name` picks a registered component of `component_kind`; one
// sub-block per component name holds that component's parameters (validated with its
// schema), so a grid over `method.name` keeps every method's settings. After
// validation a cell's config keeps only the selected component's block (filled with
// defaults), so its hash covers exactly what the cell uses.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "framework/config/loader.h"
#include "framework/config/schema.h"

namespace frerec::config {

struct SectionSpec {
  std::string name;            // top-level key
  std::string doc;             // one line
  Schema common;               // keys shared by all components of the section
  std::string component_kind;  // catalog kind selected by `name` ("" for a plain section)
  std::string default_component;
  // Checks across keys that the schema cannot express (warmup_epochs <= epochs, a folder
  // loader with an empty root); run by validate_experiment for every cell, so a config
  // error stops `run` before any cell (exit 2). Throws ConfigError. Optional.
  std::function<void(const Params& section)> check;
};

// Registers (or replaces) a top-level section.
void register_section(SectionSpec spec);
std::vector<SectionSpec> registered_sections();

// The top-level schema from the registered sections (built on demand).
Schema experiment_schema();

// Whether a dotted key holds a list by schema (for `key=[..]` on the command line).
bool is_list_key(const std::string& dotted_key);

// Where a component's keys are written in an experiment config: "<section>.<name>" for a
// component of a section's kind (method.mixup, model.resnet50), "experiment.<name>" for an
// experiment kind; "" for other kinds.
std::string component_config_path(const std::string& kind, const std::string& name);

// Validates a merged config (one grid cell's values already set) and returns it with
// defaults filled and unselected component blocks removed.
YAML::Node validate_experiment(const YAML::Node& root, const Provenance& provenance);

}  // namespace frerec::config
