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
#ifdef HAVE_FREREC_GENERATORS
#include "models/generators/register.h"
#endif
#ifdef HAVE_FREREC_AUGMENTATIONS
#include "augmentations/method.h"
#include "experiments/frerec_pipeline.h"
#endif

namespace frerec::experiments {

void register_experiment_kinds();  // classify.cpp: the Table 2 / Table 3 cell
void register_figures_kind();      // figures.cpp: Fig. 1/6/7

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
                            datasets::data_section_schema(), "datasets", "", {}});
#endif
#ifdef HAVE_FREREC_GENERATORS
  generators::register_generators();  // the `gan` synthetic source and the generator section
#endif
#ifdef HAVE_FREREC_AUGMENTATIONS
  augmentations::register_all();
  register_frerec_methods();
  config::register_section({"method", "the augmentation method of a cell (Table 2 rows)",
                            augmentations::method_section_schema(), "methods", "raw", {}});
#endif
#ifdef HAVE_FREREC_CLASSIFIERS
  config::register_section({"model", "the classifier backbone", config::Schema(), "models", "", {}});
#endif
#ifdef HAVE_FREREC_TRAIN
  config::register_section({"train", "trainer settings (optimiser, schedule, epochs, batch size)",
                            train::trainer_schema(), "", "",
                            [](const config::Params& section) { train::from_params(section); }});
#endif
  register_experiment_kinds();
  register_figures_kind();
  // Metrics reported by the experiments (listed by `frerec info metrics`).
  const std::pair<const char*, const char*> metrics[] = {
      {"auc", "ROC AUC by the Mann-Whitney statistic, ties counted half (real test set)"},
      {"accuracy", "accuracy at threshold eval.threshold on P(positive)"},
      {"f1", "F1 of the positive class at eval.threshold"},
      {"psnr", "peak signal-to-noise ratio, data range 1 (calibrated vs input images)"},
      {"ssim", "SSIM, Wang et al. 2004 (gaussian 11x11, sigma 1.5) or skimage's uniform 7x7"},
      {"spectral_gap", "mean |difference| of mean Durall 1-D spectra, high band (radius >= r*Rmax) and all radii"}};
  for (const auto& [name, description] : metrics)
    Catalog::instance().add(ComponentInfo{"metrics", name, description, std::make_shared<const config::Schema>(), {}});
}

}  // namespace frerec::experiments
