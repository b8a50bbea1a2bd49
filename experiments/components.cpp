// Calls every component library's registration and declares the config sections.
#include "augmentations/frerec/pipeline.h"
#include "augmentations/method.h"
#include "augmentations/python/python_method.h"
#include "datasets/dataset.h"
#include "datasets/register.h"
#include "framework/config/experiment_schema.h"
#include "framework/core/registry.h"
#include "framework/metrics/predictions.h"
#include "framework/train/trainer_options.h"
#include "models/classifiers/registry.h"
#include "models/generators/register.h"
#include "models/restoration/registry.h"

namespace frerec::experiments {

void register_experiment_kinds();  // classify.cpp: the Table 2 / Table 3 cell
void register_figures_kind();      // figures.cpp: Fig. 1/6/7
void register_gan_source();        // gan_source.cpp: data.synthetic.name: gan

void register_components() {
  models::register_classifiers();
  restoration::register_restoration();
  datasets::register_all();
  config::register_section({"data", "the dataset: which loader, where, and how it is sampled and preprocessed",
                            datasets::data_section_schema(), "datasets", "", {}});
  generators::register_generators();  // the generator section
  register_gan_source();
  augmentations::register_all();
  augmentations::register_python_method();
  pipeline::register_frerec_methods();
  config::register_section({"method", "the augmentation method of a cell (Table 2 rows)",
                            augmentations::method_section_schema(), "methods", "raw", {}});
  config::register_section({"model", "the classifier backbone", config::Schema(), "models", "", {}});
  config::register_section({"train", "trainer settings (optimiser, schedule, epochs, batch size)",
                            train::trainer_schema(), "", "",
                            [](const config::Params& section) { train::from_params(section); }});
  register_experiment_kinds();
  register_figures_kind();
  // Metrics reported by the experiments (listed by `frerec info metrics`); the classification
  // ones register themselves (framework/metrics/predictions.h, binary_metric_registry).
  metrics::binary_metric_registry();
  const std::pair<const char*, const char*> metrics[] = {
      {"psnr", "peak signal-to-noise ratio, data range 1 (calibrated vs input images)"},
      {"ssim", "SSIM, Wang et al. 2004 (gaussian 11x11, sigma 1.5) or skimage's uniform 7x7"},
      {"spectral_gap", "mean |difference| of mean Durall 1-D spectra, high band (radius >= r*Rmax) and all radii"}};
  for (const auto& [name, description] : metrics)
    Catalog::instance().add(ComponentInfo{"metrics", name, description, std::make_shared<const config::Schema>(), {}});
}

}  // namespace frerec::experiments
