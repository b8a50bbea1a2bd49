// Generative data augmentation (GDA): real + synthetic training images (paper Table 2
// "GDA"; external generators such as DoGE as `gda_external`). Synthetic images only ever
// join the training set: validation and test stay real.
//
//   method: {name: gda, gda: {synthetic_per_class: -1}}
//   method: {name: gda_external,
//            gda_external: {root: /data/doge_samples, generator: DoGE,
//                           source: synthetic_folder, options: {classes: {...}},
//                           synthetic_per_class: -1}}
//
// `gda` uses TaskData::synthetic (data.synthetic, already sampled with the Table 1 per-class
// counts data.counts.synthetic by datasets::load_task). `gda_external` loads the named
// folder through datasets::load_task on a copy of the `data` section whose `synthetic`
// points at it, so the task's preprocessing (image_size, channels, interpolation) and the
// per-class counts apply, and the image cache is shared with every other cell.
// `synthetic_per_class` (-1 = all) then keeps at most that many images of each class by a
// seeded subsample (derive_seed(cell seed, {kGdaSubsampleStream}); Fisher–Yates, the kept
// indices in pool order). Asking for more than the pool holds is a RunError naming both.
// The mixing (mix_real_and_synthetic) is the one entry point later methods (GDA+FreRec,
// Table 3 variants) reuse with their own (calibrated) pools; it records, for record.json:
//   train_real, train_synthetic, train_synthetic_per_class {negative, positive},
//   synthetic_pool, synthetic_per_class (the request), synthetic_generator.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "augmentations/method.h"

namespace frerec::augmentations {

// derive_seed stream tag of the synthetic subsample ("gda" + 1).
constexpr std::uint64_t kGdaSubsampleStream = 0x6764610000000001ull;

struct SyntheticPool {
  std::shared_ptr<const train::SampleSource> source;
  std::vector<int> labels;  // label of each sample of `source` (read without decoding)
  std::string generator;    // recorded as synthetic_generator
};

SyntheticPool synthetic_pool_of(const datasets::ImageSet& set, const std::string& generator);

// Indices (ascending) keeping at most `per_class` samples of each label (-1 = all), seeded.
// RunError naming `component` when a class has fewer than requested.
std::vector<std::size_t> subsample_per_class(const std::vector<int>& labels, long per_class, std::uint64_t seed,
                                             const std::string& component);

// `real` (the real splits, e.g. Method::prepare's) with the (subsampled) synthetic pool
// appended to its training source. The validation and test sources are left as they are.
TrainingInputs mix_real_and_synthetic(TrainingInputs real, const SyntheticPool& pool, long per_class,
                                      std::uint64_t seed, const std::string& component = "gda");

// The task data with the synthetic pool of gda_external's folder (see above). ConfigError
// when the folder holds a class the task's real training set lacks.
datasets::TaskData load_external_synthetic(const CellData& data);

config::Schema gda_schema();
config::Schema gda_external_schema();

// `gda` (external = false: TaskData::synthetic) and `gda_external` (the method block's folder).
class GdaMethod : public Method {
 public:
  GdaMethod(long synthetic_per_class, bool external) : per_class_(synthetic_per_class), external_(external) {}
  TrainingInputs prepare(const CellData& data) override;

 private:
  long per_class_;
  bool external_;
};

}  // namespace frerec::augmentations
