// The label parsers of the real datasets, each on a tree written from the input: the first
// byte picks the loader, the rest is split at "\n%%\n".
//   0: Kaggle DR: trainLabels.csv [%% retinopathy_solution.csv]   (check_files: false)
//   1: MIMIC-CXR-JPG: metadata %% chexpert %% split CSVs, gzipped when bit 3 of byte 0 is set
//   2: brain tumour (Kaggle): one relative image path per line (class folders decide labels)
// Then Table 1 sampling of every split (counts -1). Seeds: fuzz/corpus/labels.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <zlib.h>

#include "datasets/core/sampling.h"
#include "datasets/dataset.h"
#include "datasets/register.h"
#include "fuzz/fuzz_util.h"

namespace {

std::vector<std::string> parts_of(std::string text, std::size_t at_most) {
  std::vector<std::string> parts;
  while (parts.size() + 1 < at_most) {
    auto [head, tail] = frerec::fuzz::split_once(text, "\n%%\n");
    if (tail.empty() && head.size() == text.size()) break;
    parts.push_back(head);
    text = tail;
  }
  parts.push_back(text);
  return parts;
}

void write(const std::filesystem::path& path, const std::string& text, bool gz) {
  std::filesystem::create_directories(path.parent_path());
  if (!gz) {
    std::ofstream(path, std::ios::binary) << text;
    return;
  }
  gzFile file = gzopen((path.string() + ".gz").c_str(), "wb");
  if (!text.empty()) gzwrite(file, text.data(), static_cast<unsigned>(text.size()));
  gzclose(file);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace frerec;
  datasets::register_all();  // once per process (call_once inside)
  if (size == 0) return 0;
  const int kind = data[0] % 3;
  const bool gz = (data[0] & 8) != 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto root = fuzz::fresh("labels");
  std::string section;
  if (kind == 0) {
    const auto parts = parts_of(text, 2);
    write(root / "trainLabels.csv", parts[0], false);
    if (parts.size() > 1) write(root / "retinopathy_solution.csv", parts[1], false);
    section = "{name: kaggle_dr, kaggle_dr: {check_files: false}}";
  } else if (kind == 1) {
    const auto parts = parts_of(text, 3);
    const char* names[] = {"mimic-cxr-2.0.0-metadata.csv", "mimic-cxr-2.0.0-chexpert.csv", "mimic-cxr-2.0.0-split.csv"};
    for (std::size_t i = 0; i < parts.size(); ++i) write(root / names[i], parts[i], gz);
    section = "{name: mimic_cxr_jpg, mimic_cxr_jpg: {check_files: false}}";
  } else {
    std::istringstream lines(text);
    int files = 0;
    for (std::string line; std::getline(lines, line) && files < 64;) {
      // Plain relative paths only (the tree stays inside the scratch folder).
      bool plain = !line.empty() && line.size() < 120 && line[0] != '/' && line.find("..") == std::string::npos;
      for (const char c : line) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::string("_-./ ").find(c) != std::string::npos);
      if (!plain) continue;
      std::error_code ec;
      std::filesystem::create_directories((root / line).parent_path(), ec);
      std::ofstream(root / line) << "x";
      ++files;
    }
    section = "{name: brain_tumor_kaggle}";
  }
  fuzz::expect_clean([&] {
    YAML::Node node = YAML::Load(section);
    node["root"] = root.string();
    const config::Params params = datasets::validate_data_section(node, "data");
    const auto source = datasets::make_source(params);
    for (const auto& record : source->records())
      if (record.label != 0 && record.label != 1) std::abort();  // every task is binary
    datasets::SamplingPlan plan;
    plan.val_fraction = 0.2;
    (void)datasets::sample_real("fuzz", source->records(), plan);
  });
  return 0;
}
