// Calls every component library's registration and declares the config sections.
// Libraries are linked when their targets exist (experiments/CMakeLists.txt).
#include "framework/config/experiment_schema.h"
#include "framework/core/registry.h"

#ifdef HAVE_FREREC_CLASSIFIERS
#include "models/classifiers/registry.h"
#endif
#ifdef HAVE_FREREC_RESTORATION
#include "models/restoration/registry.h"
#endif
#ifdef HAVE_FREREC_DATASETS
#include "datasets/dataset.h"
#include "datasets/register.h"
#endif
#ifdef HAVE_FREREC_TRAIN
#include "framework/train/trainer_options.h"
#endif
#ifdef HAVE_FREREC_AUGMENTATIONS
#include "augmentations/method.h"
#endif

namespace frerec::experiments {

void register_experiment_kinds();  // experiment kinds defined in this library

void register_components() {
#ifdef HAVE_FREREC_CLASSIFIERS
  models::register_classifiers();
#endif
#ifdef HAVE_FREREC_RESTORATION
  restoration::register_restoration();
#endif
#ifdef HAVE_FREREC_DATASETS
  datasets::register_all();
  config::register_section({"data", "the dataset: which loader, where, and how it is sampled and preprocessed",
                            datasets::data_section_schema(), "datasets", ""});
#endif
#ifdef HAVE_FREREC_AUGMENTATIONS
  augmentations::register_all();
  config::register_section({"method", "the augmentation method of a cell (Table 2 rows)",
                            augmentations::method_section_schema(), "methods", "raw"});
#endif
#ifdef HAVE_FREREC_CLASSIFIERS
  config::register_section({"model", "the classifier backbone", config::Schema(), "models", ""});
#endif
#ifdef HAVE_FREREC_TRAIN
  config::register_section({"train", "trainer settings (optimiser, schedule, epochs, batch size)",
                            train::trainer_schema(), "", ""});
#endif
  register_experiment_kinds();
}

}  // namespace frerec::experiments
