// brain_tumor_kaggle — Brain Tumor Classification (MRI), Bhuvaji et al. 2020 (Kaggle).
// Layout: <root>/Training/<class>/*.jpg and <root>/Testing/<class>/*.jpg with classes
// glioma_tumor, meningioma_tumor, pituitary_tumor, no_tumor (first release) or glioma,
// meningioma, pituitary, notumor (later release); either naming is accepted in each split.
// Binary task: a tumour type listed in `tumor_types` = 1, no tumour = 0; tumour folders not
// listed are left out (e.g. tumor_types: [glioma] for glioma vs no tumour).
#include <algorithm>
#include <map>

#include "datasets/loaders/listed_source.h"
#include "framework/core/error.h"
#include "framework/io/image_io.h"

namespace frerec::datasets {
namespace fs = std::filesystem;

namespace {

const char* kName = "brain_tumor_kaggle";

// Folder name → canonical type ("" = no tumour).
const std::map<std::string, std::string>& class_folders() {
  static const std::map<std::string, std::string> folders = {
      {"glioma_tumor", "glioma"},   {"glioma", "glioma"},         {"meningioma_tumor", "meningioma"},
      {"meningioma", "meningioma"}, {"pituitary_tumor", "pituitary"}, {"pituitary", "pituitary"},
      {"no_tumor", "no_tumor"},     {"notumor", "no_tumor"}};
  return folders;
}

std::unique_ptr<DatasetSource> make(const config::Params& params, const SourceOptions& options) {
  const fs::path root = require_root(kName, options.root, options.root_key);
  const auto tumor_types = params.get<std::vector<std::string>>("tumor_types");
  for (const auto& type : tumor_types)
    if (type != "glioma" && type != "meningioma" && type != "pituitary")
      throw ConfigError(std::string(kName) + ": tumor_types entry '" + type +
                        "' is not a tumour type; use glioma, meningioma, pituitary");
  LayoutProblems problems(kName, root);
  std::vector<Record> records;
  for (const auto& [split_folder, split] : {std::pair<std::string, Split>{"Training", Split::kTrain},
                                            std::pair<std::string, Split>{"Testing", Split::kTest}}) {
    const fs::path dir = root / split_folder;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      problems.add("missing folder " + split_folder + "/");
      continue;
    }
    std::vector<fs::path> class_dirs;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_directory()) class_dirs.push_back(entry.path());
    std::sort(class_dirs.begin(), class_dirs.end());
    if (class_dirs.empty()) problems.add(split_folder + "/ has no class folders");
    for (const fs::path& class_dir : class_dirs) {
      const std::string folder = class_dir.filename().string();
      auto it = class_folders().find(folder);
      if (it == class_folders().end()) {
        problems.add("unknown class folder " + split_folder + "/" + folder +
                     " (expected glioma_tumor, meningioma_tumor, pituitary_tumor, no_tumor or "
                     "glioma, meningioma, pituitary, notumor)");
        continue;
      }
      const std::string& type = it->second;
      int label = 0;
      if (type != "no_tumor") {
        if (std::find(tumor_types.begin(), tumor_types.end(), type) == tumor_types.end()) continue;
        label = 1;
      }
      for (const fs::path& file : io::list_images(class_dir)) records.push_back(file_record(root, file, label, split, type));
    }
  }
  problems.throw_if_any();
  if (records.empty()) throw RunError(std::string(kName) + ": no images found under '" + root.string() + "'");
  return std::make_unique<ListedSource>(kName, std::move(records), 1);
}

}  // namespace

void register_brain_tumor_kaggle(DatasetRegistry& registry) {
  config::Schema schema;
  schema.add_string_list("tumor_types", {"glioma", "meningioma", "pituitary"},
                         "tumour classes counted as positive (the others are left out)");
  registry.add(kName, "Brain Tumor MRI (Kaggle, Bhuvaji 2020): Training/Testing class folders, tumour vs no tumour",
               std::move(schema), make);
}

}  // namespace frerec::datasets
