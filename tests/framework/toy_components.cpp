#include "tests/framework/toy_components.h"

#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "framework/config/experiment_schema.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/runner/experiment.h"

namespace frerec::testing {
namespace {

class ToyExperiment : public CellExperiment {
 public:
  nlohmann::json run(CellContext& context) override {
    const config::Params toy = context.config.sub("toy");
    const std::string counter = toy.get<std::string>("counter_file");
    if (!counter.empty()) std::ofstream(counter, std::ios::app) << context.cell.id << "\n";
    spdlog::info("toy: cell {} started", context.cell.id);
    // A write in progress while the cell works (what kill -9 interrupts).
    const auto partial = temporary_path_for(context.dir / "partial.bin");
    std::ofstream(partial) << "half";
    std::this_thread::sleep_for(std::chrono::milliseconds(toy.get<int>("sleep_ms")));
    std::filesystem::remove(partial);
    if (toy.get<bool>("fail")) throw RunError("toy: failing on request");
    write_file_atomic(context.dir / "artifact.txt", "made by " + context.cell.id + "\n");
    const double strength = context.config.sub("method").sub("alpha").get_or<double>("strength", 0.0);
    const long seed = context.config.get<long>("seed");
    return {{"auc", 0.5 + 0.01 * seed + 0.1 * strength}, {"accuracy", 0.6}, {"f1", 0.7}};
  }
};

}  // namespace

void register_toy_components() {
  static std::once_flag once;
  std::call_once(once, [] {
    using frerec::config::Schema;
    Registry<int> datasets("datasets");
    datasets.add("d1", "toy dataset one", Schema(), [](const config::Params&) { return 1; });
    datasets.add("d2", "toy dataset two", Schema(), [](const config::Params&) { return 2; });
    Registry<int> methods("methods");
    Schema alpha;
    alpha.add_float("strength", 1.0, "toy strength", 0.0, 10.0);
    methods.add("alpha", "toy method alpha", alpha, [](const config::Params&) { return 1; });
    methods.add("beta", "toy method beta", Schema(), [](const config::Params&) { return 2; });
    config::register_section({"data", "toy data", Schema(), "datasets", "d1", {}});
    config::register_section({"method", "toy method", Schema(), "methods", "alpha", {}});
    Schema toy;
    toy.add_int("sleep_ms", 0, "sleep per cell", 0);
    toy.add_bool("fail", false, "fail the cell");
    toy.add_string("counter_file", "", "append the cell id here when it runs");
    toy.add_int_list("sizes", {1, 2}, "a list-valued key");
    config::register_section({"toy", "toy settings", toy, "", "", {}});
    experiment_registry().add("toy", "toy cells for tests", Schema(), [](const config::Params&) {
      return std::unique_ptr<CellExperiment>(new ToyExperiment());
    });
  });
}

}  // namespace frerec::testing
