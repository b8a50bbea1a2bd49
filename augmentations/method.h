// Augmentation methods: the rows of the paper's Table 2 (shared/DESIGN.md §4 "Table 2").
//
// A Method decides, for one classify cell, (1) which images the classifier trains and is
// tested on — real only (RAW, AutoAug, Mix-up, AFA), real + synthetic (GDA, external
// generators such as DoGE), real + calibrated synthetic (GDA+FreRec, which also calibrates
// real train and test images) — and (2) which online transforms and training hooks the
// trainer uses. Every method shares the base augmentation of the `method` section
// (method_section_schema(): flips and a small random crop), added by the cell first.
//
//   method:
//     name: mixup
//     base: {hflip: true, vflip: false, crop_padding: 4}
//     mixup: {alpha: 0.2}          # the selected method's own block (its Schema)
//
// Registered (register_all): raw; autoaugment (core/autoaugment.h), mixup (core/mixup.h),
// afa (core/afa.h), gda and gda_external (core/gda.h, whose mix_real_and_synthetic() later
// real + synthetic methods reuse).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "datasets/dataset.h"
#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/registry.h"
#include "framework/train/batch.h"
#include "framework/train/sample_source.h"

namespace frerec::train {
class Trainer;
}

namespace frerec::augmentations {

struct CellData {
  const datasets::TaskData& task;
  config::Params section;     // the whole `method` section (base keys)
  config::Params params;      // the selected method's block (method.<name>)
  config::Params data;        // the `data` section (counts etc.)
  std::uint64_t seed = 0;     // the cell's training seed
  RunContext& run;
  std::filesystem::path log;  // the cell's log.txt, for details beyond one line (e.g. a Python traceback); may be empty
};

struct TrainingInputs {
  std::shared_ptr<const train::SampleSource> train;
  std::shared_ptr<const train::SampleSource> validation;  // null when there is no val split
  std::shared_ptr<const train::SampleSource> test;
  nlohmann::json record = nlohmann::json::object();       // facts for record.json
};

class Method {
 public:
  virtual ~Method() = default;
  // The sources to train, select and test on. Default: the real splits only.
  virtual TrainingInputs prepare(const CellData& data);
  // Adds the method's transforms and hooks (after the shared base transforms). May wrap
  // the model (e.g. AFA's auxiliary BatchNorm layers).
  virtual void configure(train::Trainer& /*trainer*/, train::ModelHandle& /*model*/, const CellData& /*data*/) {}
};

using MethodRegistry = Registry<std::unique_ptr<Method>>;
MethodRegistry& method_registry();

// Where a method's rows go in the reports, declared by the method when it registers:
// Table 2 (the paper's comparison) in ascending `table2_order`, and Table 3 (the FreRec
// ablation) in ascending `table3_order` under `table3_label`. A negative order leaves the
// table out; methods that declare nothing (a user's own) follow the declared ones in Table 2,
// alphabetically.
struct ReportPlacement {
  int table2_order = -1;
  int table3_order = -1;
  std::string table3_label;
};
void set_report_placement(const std::string& method, ReportPlacement placement);
// Methods with a Table 2 place, in order.
std::vector<std::string> table2_methods();
// (method, label) of the Table 3 variants, in order.
std::vector<std::pair<std::string, std::string>> table3_methods();

// Common keys of the `method` section (the shared base augmentation).
config::Schema method_section_schema();
// The shared base augmentation (flips, small crop) as sample transforms.
void add_base_transforms(train::Trainer& trainer, const config::Params& section);

// Registers every method (idempotent).
void register_all();

}  // namespace frerec::augmentations
