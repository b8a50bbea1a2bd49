// Generic layouts for any other data and for generators' outputs.
//  * image_folder: <root>/<class>/* (or <root>/{train,val,test}/<class>/* when those split
//    folders exist); `classes` maps folder names to 0/1. Without a map, folders named
//    {negative, positive} or {0, 1} are understood; anything else asks for the map.
//  * csv_manifest: <root>/<manifest> with columns path, label[, split] (names configurable);
//    labels 0/1 (also 0.0/1.0, negative/positive) or names through `classes`. Paths are
//    relative to root; a path that leaves root (.., absolute elsewhere, symlink out) is a
//    layout problem.
//  * synthetic_folder: a generator's output: <root>/manifest.csv when present (csv_manifest
//    rules), else class folders (image_folder rules, default {negative: 0, positive: 1}).
//    The generator name (data.synthetic.generator, else the folder name) is recorded.
#include <algorithm>
#include <map>

#include "datasets/loaders/listed_source.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"
#include "framework/io/image_io.h"

namespace frerec::datasets {
namespace fs = std::filesystem;
using io::CsvTable;
using io::read_csv;

namespace {

std::map<std::string, int> parse_class_map(const config::Params& params, const std::string& component) {
  std::map<std::string, int> classes;
  const YAML::Node node = params.node()["classes"];
  if (!node || node.IsNull()) return classes;
  if (!node.IsMap())
    throw ConfigError(component + ": " + params.full_key("classes") + " must be a mapping {name: 0|1}");
  for (const auto& item : node) {
    const std::string name = item.first.as<std::string>();
    int label = -1;
    try {
      label = item.second.as<int>();
    } catch (const YAML::Exception&) {
      label = -1;
    }
    if (label != 0 && label != 1)
      throw ConfigError(component + ": " + params.full_key("classes") + "." + name + " must be 0 or 1");
    classes[name] = label;
  }
  return classes;
}

std::vector<std::string> subfolders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void read_class_folders(const std::string& component, const fs::path& root, const fs::path& dir, Split split,
                        std::map<std::string, int> classes, bool recursive, LayoutProblems& problems,
                        std::vector<Record>& records) {
  const std::vector<std::string> folders = subfolders(dir);
  if (classes.empty()) {
    const bool named = std::all_of(folders.begin(), folders.end(),
                                   [](const std::string& f) { return f == "negative" || f == "positive"; });
    const bool numbered =
        std::all_of(folders.begin(), folders.end(), [](const std::string& f) { return f == "0" || f == "1"; });
    if (folders.empty() || (!named && !numbered))
      throw ConfigError(component + ": cannot tell which class folders are positive under '" + dir.string() +
                        "' (folders: " + (folders.empty() ? std::string("none") : join(folders)) +
                        "); set " + component + ".classes: {<folder>: 0|1, ...}");
    classes = named ? std::map<std::string, int>{{"negative", 0}, {"positive", 1}}
                    : std::map<std::string, int>{{"0", 0}, {"1", 1}};
  }
  std::vector<std::string> known;
  for (const auto& [name, label] : classes) known.push_back(name);
  for (const auto& folder : folders) {
    auto it = classes.find(folder);
    if (it == classes.end()) {
      problems.add("unknown class folder " + (dir / folder).lexically_relative(root).generic_string() +
                   " (classes: " + join(known) + ")");
      continue;
    }
    for (const fs::path& file : io::list_images(dir / folder, recursive))
      records.push_back(file_record(root, file, it->second, split, folder));
  }
}

std::vector<Record> image_folder_records(const std::string& component, const fs::path& root,
                                         const config::Params& params, std::map<std::string, int> classes) {
  LayoutProblems problems(component, root);
  std::vector<Record> records;
  const bool recursive = params.get<bool>("recursive");
  std::error_code ec;
  const bool split_layout = fs::is_directory(root / "train", ec) && fs::is_directory(root / "test", ec) &&
                            classes.count("train") == 0;
  if (split_layout) {
    for (const auto& folder : subfolders(root)) {
      const auto split = parse_split(folder);
      if (!split || *split == Split::kUnassigned) {
        problems.add("folder " + folder + " is not a split (train, val, test) next to train/ and test/");
        continue;
      }
      read_class_folders(component, root, root / folder, *split, classes, recursive, problems, records);
    }
  } else {
    read_class_folders(component, root, root, Split::kUnassigned, classes, recursive, problems, records);
  }
  problems.throw_if_any();
  if (records.empty()) throw RunError(component + ": no images found under '" + root.string() + "'");
  return records;
}

int parse_label(const std::string& text, const std::map<std::string, int>& classes) {
  if (!classes.empty()) {
    auto it = classes.find(text);
    return it == classes.end() ? -1 : it->second;
  }
  if (text == "1" || text == "1.0" || text == "positive") return 1;
  if (text == "0" || text == "0.0" || text == "negative") return 0;
  return -1;
}

std::vector<Record> manifest_records(const std::string& component, const fs::path& root, const fs::path& manifest,
                                     const config::Params& params, const std::map<std::string, int>& classes) {
  LayoutProblems problems(component, root);
  std::error_code ec;
  if (!fs::is_regular_file(manifest, ec)) {
    problems.add("missing manifest " + manifest.lexically_relative(root).generic_string());
    problems.throw_if_any();
  }
  const CsvTable table = read_csv(manifest);
  const std::size_t c_path = table.column(params.get<std::string>("path_column"));
  const std::size_t c_label = table.column(params.get<std::string>("label_column"));
  const auto c_split = table.find_column(params.get<std::string>("split_column"));
  std::vector<Record> records;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string where = manifest.filename().string() + " line " + std::to_string(r + 2);
    const auto file = resolve_inside(root, row[c_path]);
    if (!file) {
      problems.add(where + ": path '" + row[c_path] + "' escapes the dataset root (or is empty)");
      continue;
    }
    if (!fs::is_regular_file(*file, ec)) {
      problems.add(where + ": missing image " + row[c_path]);
      continue;
    }
    const int label = parse_label(row[c_label], classes);
    if (label < 0) {
      problems.add(where + ": label '" + row[c_label] + "' is not 0/1 (or a name in classes)");
      continue;
    }
    Split split = Split::kUnassigned;
    if (c_split) {
      const auto parsed = parse_split(row[*c_split]);
      if (!parsed) {
        problems.add(where + ": split '" + row[*c_split] + "' is not train, val, test or empty");
        continue;
      }
      split = *parsed;
    }
    Record record;
    record.id = fs::path(row[c_path]).lexically_normal().generic_string();
    record.path = *file;
    record.label = label;
    record.split = split;
    record.group = row[c_label];
    records.push_back(std::move(record));
  }
  problems.throw_if_any();
  if (records.empty()) throw RunError(component + ": manifest '" + manifest.string() + "' lists no images");
  return records;
}

config::Schema folder_schema() {
  config::Schema schema;
  schema.add_any("classes", "class folder (or label text) → 0/1 map; default {negative: 0, positive: 1} or {0: 0, 1: 1}");
  schema.add_bool("recursive", false, "also take images from sub-folders of each class folder");
  return schema;
}

config::Schema manifest_columns(config::Schema schema) {
  schema.add_string("path_column", "path", "manifest column with the image path (relative to root)");
  schema.add_string("label_column", "label", "manifest column with the label");
  schema.add_string("split_column", "split", "manifest column with train/val/test (optional column)");
  return schema;
}

fs::path manifest_path(const fs::path& root, const std::string& manifest) {
  const fs::path given(manifest);
  return given.is_absolute() ? given : root / given;
}

}  // namespace

void register_generic_folders(DatasetRegistry& registry) {
  registry.add("image_folder", "any ImageFolder layout: <root>/<class>/ or <root>/{train,val,test}/<class>/",
               folder_schema(), [](const config::Params& params, const SourceOptions& options) {
                 const fs::path root = require_root("image_folder", options.root, options.root_key);
                 auto records = image_folder_records("image_folder", root, params, parse_class_map(params, "image_folder"));
                 return std::unique_ptr<DatasetSource>(std::make_unique<ListedSource>("image_folder", std::move(records), 0));
               });

  config::Schema manifest_schema = manifest_columns(config::Schema());
  manifest_schema.add_string("manifest", "manifest.csv", "CSV file (relative to root; .gz allowed)");
  manifest_schema.add_any("classes", "label text → 0/1 map (default: 0/1, 0.0/1.0, negative/positive)");
  registry.add("csv_manifest", "any image list: CSV with path, label[, split] relative to root",
               std::move(manifest_schema), [](const config::Params& params, const SourceOptions& options) {
                 const fs::path root = require_root("csv_manifest", options.root, options.root_key);
                 auto records = manifest_records("csv_manifest", root,
                                                 manifest_path(root, params.get<std::string>("manifest")), params,
                                                 parse_class_map(params, "csv_manifest"));
                 return std::unique_ptr<DatasetSource>(std::make_unique<ListedSource>("csv_manifest", std::move(records), 0));
               });

  config::Schema synthetic_schema = manifest_columns(folder_schema());
  synthetic_schema.add_string("manifest", "manifest.csv", "used when present in root; else class folders");
  registry.add("synthetic_folder", "a generator's output: class folders or manifest.csv; records the generator name",
               std::move(synthetic_schema), [](const config::Params& params, const SourceOptions& options) {
                 const fs::path root = require_root("synthetic_folder", options.root, options.root_key);
                 const auto classes = parse_class_map(params, "synthetic_folder");
                 const fs::path manifest = manifest_path(root, params.get<std::string>("manifest"));
                 std::error_code ec;
                 auto records = fs::is_regular_file(manifest, ec)
                                    ? manifest_records("synthetic_folder", root, manifest, params, classes)
                                    : image_folder_records("synthetic_folder", root, params, classes);
                 for (auto& record : records) record.split = Split::kUnassigned;
                 const std::string generator =
                     options.generator.empty() ? root.filename().string() : options.generator;
                 return std::unique_ptr<DatasetSource>(
                     std::make_unique<ListedSource>("synthetic_folder", std::move(records), 0, generator));
               });
}

}  // namespace frerec::datasets
