// A Table 2 row written in Python (`method.name: python`; README "Compare your own method
// (Python)"; docs/decisions.md "Python methods"):
//
//   method:
//     name: python
//     python: {file: examples/python_methods/random_erasing.py, function: augment, params: {p: 0.5}}
//
// The user's module defines
//   augment(images, labels, rng, **params) -> (images, labels)
// called once per training batch as a batch transform on the trainer's loader threads:
// images float32 [N,C,H,W] in [0,1] (zero-copy over the collated batch, after the shared
// base augmentation), labels int64 [N], rng a numpy.random.Generator(PCG64(s)) with s the
// first draw of the trainer's batch generator, which is seeded from (cell seed, epoch,
// batch index) — so a cell is reproducible, independent of thread counts and resumes
// exactly. It returns images [N',C,H,W] (any N' >= 1) and hard labels [N'] or soft targets
// [N',K] (Mix-up-like methods; the trainer's soft-target cross-entropy). An optional
//   setup(train_images, train_labels, synthetic_images, synthetic_labels, **params)
// runs once per cell before training (the real training split and the synthetic pool).
// The interpreter, the GIL and the checks of what Python returns: embedded.h.
//
// Config hash: the block's resolver (run on the selected block at plan time) writes the
// SHA-256 of the Python source into `method.python.source_sha256`, so editing the file
// reruns its cells; and fills `label` (default: the file or module name), which makes the
// cell folder and the Table 2 row `python-<label>`.
#pragma once

#include <memory>
#include <random>

#include "augmentations/method.h"
#include "augmentations/python/embedded.h"
#include "framework/train/batch.h"

namespace frerec::augmentations {

// The batch transform calling a loaded Python function (thread-safe).
class PythonBatchTransform : public train::BatchTransform {
 public:
  explicit PythonBatchTransform(std::shared_ptr<const python::PythonFunction> function);
  void apply(train::Batch& batch, std::mt19937_64& rng) const override;

 private:
  std::shared_ptr<const python::PythonFunction> function_;
};

// Keys: file | module, function, params, label, source_sha256 (filled in by the resolver).
config::Schema python_method_schema();
// The source a validated method.python block names (ConfigError: neither or both of file/module).
python::PythonSource python_source_from(const config::Params& params);

// Registers `python` (its schema, factory and the resolver described above).
void register_python_method();

}  // namespace frerec::augmentations
