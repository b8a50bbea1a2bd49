// The YAML config loader with command-line overrides and the `data` section's validation
// (the schema of every registered loader): what `frerec run CONFIG key=value ...` does
// before a cell exists. Input: a config file's text, then "\n%%\n", then one override per
// line. Seeds: fuzz/corpus/config (configs/ and the tests' config snippets).
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/register.h"
#include "framework/config/loader.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace frerec;
  datasets::register_all();  // once per process (call_once inside)
  const auto [file_text, override_text] = fuzz::split_once(std::string(reinterpret_cast<const char*>(data), size), "\n%%\n");
  std::vector<std::string> overrides;
  std::istringstream lines(override_text);
  for (std::string line; std::getline(lines, line) && overrides.size() < 16;)
    if (!line.empty()) overrides.push_back(line);
  const auto dir = fuzz::fresh("config");
  std::ofstream(dir / "exp.yaml", std::ios::binary) << file_text;
  fuzz::expect_clean([&] {
    const config::LoadedConfig loaded = config::load_config(dir / "exp.yaml", overrides);
    for (const auto& sweep : loaded.sweeps)
      if (sweep.values.empty()) std::abort();  // a sweep always has values
    (void)config::canonical_text(loaded.root);
    if (loaded.root.IsMap() && loaded.root["data"]) {
      const config::Params section = datasets::validate_data_section(loaded.root["data"], "data");
      (void)config::to_yaml(section.node());
    }
  });
  return 0;
}
