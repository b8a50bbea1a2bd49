// datasets_demo_export OUT_DIR [image_size] [per_class]
// Writes OUT_DIR/<task>_contact_sheet.png for the three demo tasks and, when per_class > 0,
// PNG exports OUT_DIR/<task>/ (train per_class/class, test 300/class) for
// tools/demo_difficulty.py. Uses ./cache as the image cache.
#include <cstdlib>
#include <iostream>

#include "datasets/export.h"
#include "datasets/register.h"

int main(int argc, char** argv) {
  using namespace frerec;
  if (argc < 2) {
    std::cerr << "usage: datasets_demo_export OUT_DIR [image_size=64] [per_class=0]\n";
    return 2;
  }
  const std::filesystem::path out = argv[1];
  const int size = argc > 2 ? std::atoi(argv[2]) : 64;
  const int per_class = argc > 3 ? std::atoi(argv[3]) : 0;
  try {
    datasets::register_all();
    RunContext ctx;
    ctx.threads = 2;
    for (const std::string task : {"demo_mri", "demo_cxr", "demo_fundus"}) {
      YAML::Node overrides = YAML::Load("{image_size: " + std::to_string(size) + "}");
      if (per_class > 0) {
        overrides[task]["train_per_class"] = per_class;
        overrides[task]["test_per_class"] = 300;
      }
      const auto data = datasets::data_section_for(task, overrides);
      const auto loaded = datasets::load_task(data, ctx);
      datasets::write_contact_sheet(loaded.real_test, task + " (test split, " + std::to_string(size) + " px)",
                                    out / (task + "_contact_sheet.png"), 8);
      if (per_class > 0) datasets::export_task(loaded, out / task);
    }
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return e.exit_code();
  }
  return 0;
}
