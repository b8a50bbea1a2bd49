#include "datasets/register.h"

#include <mutex>

#include "datasets/loaders/listed_source.h"

namespace frerec::datasets {

void register_all() {
  static std::once_flag once;
  std::call_once(once, [] {
    DatasetRegistry& registry = dataset_registry();
    register_brain_tumor_kaggle(registry);
    register_mimic_cxr_jpg(registry);
    register_kaggle_dr(registry);
    register_generic_folders(registry);
    register_demo_tasks(registry);
    register_known_bias(registry);
  });
}

}  // namespace frerec::datasets
