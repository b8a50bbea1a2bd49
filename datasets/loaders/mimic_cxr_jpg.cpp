// mimic_cxr_jpg — MIMIC-CXR-JPG 2.0 (Johnson et al. 2019).
// Layout: <root>/files/pXX/pNNNNNNNN/sNNNNNNNN/<dicom_id>.jpg plus
//   mimic-cxr-2.0.0-metadata.csv[.gz]  (dicom_id, subject_id, study_id, ViewPosition, ...)
//   mimic-cxr-2.0.0-chexpert.csv[.gz]  (subject_id, study_id, <14 findings>: 1.0/0.0/-1.0/blank)
//   mimic-cxr-2.0.0-split.csv[.gz]     (dicom_id, study_id, subject_id, split: train/validate/test)
// Labels are per study (CheXpert labeller); every image of a study gets its study's label.
// `uncertain` (-1.0) and `blank` cells follow their policy: drop (default), positive, negative.
// `views` filters ViewPosition (default PA and AP). The split CSV is needed only with
// use_official_split; "validate" joins the train pool (datasets/dataset.h).
#include <map>
#include <set>

#include "datasets/loaders/listed_source.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"

namespace frerec::datasets {
namespace fs = std::filesystem;
using io::CsvTable;
using io::find_csv;
using io::read_csv;

namespace {

const char* kName = "mimic_cxr_jpg";

// -1 drop, 0 negative, 1 positive
int policy_label(const std::string& policy) {
  if (policy == "positive") return 1;
  if (policy == "negative") return 0;
  return -1;
}

std::string study_key(const std::string& subject, const std::string& study) { return subject + "/" + study; }

std::unique_ptr<DatasetSource> make(const config::Params& params, const SourceOptions& options) {
  const fs::path root = require_root(kName, options.root, options.root_key);
  const std::string label_column = params.get<std::string>("label_column");
  const int uncertain = policy_label(params.get<std::string>("uncertain"));
  const int blank = policy_label(params.get<std::string>("blank"));
  const auto view_list = params.get<std::vector<std::string>>("views");
  const std::set<std::string> views(view_list.begin(), view_list.end());
  const bool check_files = params.get<bool>("check_files");

  LayoutProblems problems(kName, root);
  const auto metadata_path = find_csv(root, "mimic-cxr-2.0.0-metadata.csv");
  const auto chexpert_path = find_csv(root, "mimic-cxr-2.0.0-chexpert.csv");
  const auto split_path = find_csv(root, "mimic-cxr-2.0.0-split.csv");
  if (!metadata_path) problems.add("missing mimic-cxr-2.0.0-metadata.csv (or .csv.gz)");
  if (!chexpert_path) problems.add("missing mimic-cxr-2.0.0-chexpert.csv (or .csv.gz)");
  if (!split_path && options.use_official_split)
    problems.add("missing mimic-cxr-2.0.0-split.csv (or .csv.gz); add it or set data.use_official_split: false");
  problems.throw_if_any();

  const CsvTable chexpert = read_csv(*chexpert_path);
  const std::size_t c_subject = chexpert.column("subject_id"), c_study = chexpert.column("study_id");
  const std::size_t c_label = chexpert.column(label_column);
  std::map<std::string, std::string> study_label;
  for (const auto& row : chexpert.rows) study_label[study_key(row[c_subject], row[c_study])] = row[c_label];

  std::map<std::string, std::string> split_of;  // dicom_id → split text
  if (split_path && options.use_official_split) {
    const CsvTable split = read_csv(*split_path);
    const std::size_t s_dicom = split.column("dicom_id"), s_split = split.column("split");
    for (const auto& row : split.rows) split_of[row[s_dicom]] = row[s_split];
  }

  const CsvTable metadata = read_csv(*metadata_path);
  const std::size_t m_dicom = metadata.column("dicom_id"), m_subject = metadata.column("subject_id");
  const std::size_t m_study = metadata.column("study_id"), m_view = metadata.column("ViewPosition");
  std::vector<Record> records;
  for (const auto& row : metadata.rows) {
    if (!views.empty() && views.count(row[m_view]) == 0) continue;
    const std::string& subject = row[m_subject];
    const std::string& study = row[m_study];
    auto label_it = study_label.find(study_key(subject, study));
    if (label_it == study_label.end()) continue;  // study without a CheXpert row: unlabelled
    const std::string& value = label_it->second;
    int label;
    if (value == "1.0" || value == "1") label = 1;
    else if (value == "0.0" || value == "0") label = 0;
    else if (value == "-1.0" || value == "-1") label = uncertain;
    else if (value.empty()) label = blank;
    else {
      problems.add("chexpert value '" + value + "' in column " + label_column + " for study " + study +
                   " is not 1.0, 0.0, -1.0 or blank");
      continue;
    }
    if (label < 0) continue;
    Split split = Split::kUnassigned;
    if (options.use_official_split) {
      auto split_it = split_of.find(row[m_dicom]);
      if (split_it == split_of.end()) {
        problems.add("dicom_id " + row[m_dicom] + " is not in mimic-cxr-2.0.0-split.csv");
        continue;
      }
      const auto parsed = parse_split(split_it->second);
      if (!parsed) {
        problems.add("split '" + split_it->second + "' of dicom_id " + row[m_dicom] + " is not train/validate/test");
        continue;
      }
      split = *parsed == Split::kVal ? Split::kTrain : *parsed;
    }
    if (subject.size() < 2) {
      problems.add("subject_id '" + subject + "' is too short to name its pXX folder");
      continue;
    }
    const fs::path file = root / "files" / ("p" + subject.substr(0, 2)) / ("p" + subject) / ("s" + study) /
                          (row[m_dicom] + ".jpg");
    if (check_files) {
      std::error_code ec;
      if (!fs::is_regular_file(file, ec)) {
        problems.add("missing image " + file.lexically_relative(root).generic_string());
        continue;
      }
    }
    const std::string view = row[m_view];
    records.push_back(file_record(root, file, label, split, view));
  }
  problems.throw_if_any();
  if (records.empty())
    throw RunError(std::string(kName) + ": no labelled images of the requested views under '" + root.string() + "'");
  return std::make_unique<ListedSource>(kName, std::move(records), 1);
}

}  // namespace

void register_mimic_cxr_jpg(DatasetRegistry& registry) {
  config::Schema schema;
  schema.add_string("label_column", "Cardiomegaly", "CheXpert column used as the binary label");
  schema.add_string("uncertain", "drop", "what -1.0 (uncertain) means", {"drop", "positive", "negative"});
  schema.add_string("blank", "drop", "what a blank cell (not mentioned) means", {"drop", "positive", "negative"});
  schema.add_string_list("views", {"PA", "AP"}, "ViewPosition values kept (empty = all)");
  schema.add_bool("check_files", true, "check that every listed image exists when the dataset is opened");
  registry.add(kName, "MIMIC-CXR-JPG 2.0: files/pXX/... with metadata, CheXpert label and split CSVs (plain or .gz)",
               std::move(schema), make);
}

}  // namespace frerec::datasets
