// kaggle_dr — Kaggle Diabetic Retinopathy Detection (EyePACS, 2015).
// Layout: <root>/trainLabels.csv[.gz] (image, level 0–4) with <root>/train/<image>.jpeg.
// When the later-released test labels are present, <root>/retinopathy_solution.csv[.gz]
// (image, level, Usage) with <root>/test/<image>.jpeg, those images form the official test
// split; otherwise load_task carves test from train (data.test_fraction / counts.test).
// binarize: any (level ≥ 1 positive, default) or referable (level ≥ 2).
#include "datasets/loaders/listed_source.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"

namespace frerec::datasets {
namespace fs = std::filesystem;
using io::CsvTable;
using io::find_csv;
using io::read_csv;

namespace {

const char* kName = "kaggle_dr";

void add_records(const fs::path& root, const CsvTable& table, const fs::path& image_dir, Split split, int threshold,
                 bool check_files, LayoutProblems& problems, std::vector<Record>& records) {
  const std::size_t c_image = table.column("image"), c_level = table.column("level");
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    int level = -1;
    try {
      std::size_t used = 0;
      level = std::stoi(row[c_level], &used);
      if (used != row[c_level].size()) level = -1;
    } catch (const std::exception&) {
      level = -1;
    }
    if (level < 0 || level > 4) {
      problems.add(table.path.filename().string() + " row " + std::to_string(r + 2) + ": level '" + row[c_level] +
                   "' is not 0-4");
      continue;
    }
    const fs::path file = image_dir / (row[c_image] + ".jpeg");
    if (check_files) {
      std::error_code ec;
      if (!fs::is_regular_file(file, ec)) {
        problems.add("missing image " + file.lexically_relative(root).generic_string());
        continue;
      }
    }
    records.push_back(file_record(root, file, level >= threshold ? 1 : 0, split, "level=" + std::to_string(level)));
  }
}

std::unique_ptr<DatasetSource> make(const config::Params& params, const SourceOptions& options) {
  const fs::path root = require_root(kName, options.root, options.root_key);
  const int threshold = params.get<std::string>("binarize") == "referable" ? 2 : 1;
  const bool check_files = params.get<bool>("check_files");
  LayoutProblems problems(kName, root);
  const auto labels = find_csv(root, "trainLabels.csv");
  if (!labels) problems.add("missing trainLabels.csv (or trainLabels.csv.gz)");
  std::error_code ec;
  if (!fs::is_directory(root / "train", ec)) problems.add("missing folder train/");
  problems.throw_if_any();
  std::vector<Record> records;
  add_records(root, read_csv(*labels), root / "train", Split::kTrain, threshold, check_files, problems, records);
  if (const auto solution = find_csv(root, "retinopathy_solution.csv")) {
    if (!fs::is_directory(root / "test", ec))
      problems.add("retinopathy_solution.csv is present but folder test/ is missing");
    else
      add_records(root, read_csv(*solution), root / "test", Split::kTest, threshold, check_files, problems, records);
  }
  problems.throw_if_any();
  if (records.empty()) throw RunError(std::string(kName) + ": trainLabels.csv lists no images");
  return std::make_unique<ListedSource>(kName, std::move(records), 3);
}

}  // namespace

void register_kaggle_dr(DatasetRegistry& registry) {
  config::Schema schema;
  schema.add_string("binarize", "any", "positive class: any = level >= 1, referable = level >= 2", {"any", "referable"});
  schema.add_bool("check_files", true, "check that every listed image exists when the dataset is opened");
  registry.add(kName, "Kaggle Diabetic Retinopathy: trainLabels.csv + train/<image>.jpeg, level binarised",
               std::move(schema), make);
}

}  // namespace frerec::datasets
