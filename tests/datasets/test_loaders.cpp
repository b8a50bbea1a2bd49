// Each loader against small trees in its official layout, plus broken layouts.
#include "framework/core/error.h"
#include "tests/datasets/fixtures.h"

namespace frerec::datasets {
namespace {
using namespace testing;

std::unique_ptr<DatasetSource> open(const std::string& yaml) { return make_source(data(yaml)); }

std::size_t count_label(const DatasetSource& source, int label, Split split) {
  std::size_t n = 0;
  for (const auto& r : source.records()) n += (r.label == label && r.split == split);
  return n;
}

TEST(BrainTumorKaggle, BothNamingsAndBinaryLabels) {
  const auto root = fresh_dir("bt");
  // First release naming in Training, later naming in Testing.
  write_image(root / "Training/glioma_tumor/g1.jpg", 1);
  write_image(root / "Training/meningioma_tumor/m1.jpg", 2);
  write_image(root / "Training/pituitary_tumor/p1.jpg", 3);
  write_image(root / "Training/no_tumor/n1.jpg", 4);
  write_image(root / "Training/no_tumor/n2.jpg", 5);
  write_image(root / "Testing/glioma/Te-gl_1.jpg", 6);
  write_image(root / "Testing/notumor/Te-no_1.jpg", 7);
  write_text(root / "Training/no_tumor/Thumbs.db", "junk");  // non-image files are ignored
  auto source = open("{name: brain_tumor_kaggle, root: " + root.string() + "}");
  EXPECT_EQ(source->records().size(), 7u);
  EXPECT_EQ(count_label(*source, 1, Split::kTrain), 3u);
  EXPECT_EQ(count_label(*source, 0, Split::kTrain), 2u);
  EXPECT_EQ(count_label(*source, 1, Split::kTest), 1u);
  EXPECT_EQ(count_label(*source, 0, Split::kTest), 1u);
  EXPECT_EQ(source->natural_channels(), 1);
  auto glioma_only = open("{name: brain_tumor_kaggle, root: " + root.string() +
                          ", brain_tumor_kaggle: {tumor_types: [glioma]}}");
  EXPECT_EQ(glioma_only->records().size(), 5u);
}

TEST(BrainTumorKaggle, BadLayoutListsProblems) {
  const auto root = fresh_dir("btbad");
  write_image(root / "Training/glioma_tumor/g1.jpg", 1);
  write_image(root / "Training/astrocytoma/a.jpg", 1);
  const std::string message = error_of<RunError>([&] { open("{name: brain_tumor_kaggle, root: " + root.string() + "}"); });
  EXPECT_NE(message.find("2 layout problems"), std::string::npos) << message;
  EXPECT_NE(message.find("missing folder Testing/"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown class folder Training/astrocytoma"), std::string::npos) << message;
  EXPECT_THROW(open("{name: brain_tumor_kaggle, root: " + (root / "nope").string() + "}"), RunError);
  EXPECT_THROW(open("{name: brain_tumor_kaggle}"), ConfigError);  // empty root
}

// MIMIC-CXR-JPG tree: 5 images over 4 studies; CSVs gzipped.
fs::path mimic_tree(bool gz) {
  const auto root = fresh_dir(gz ? "mimicgz" : "mimic");
  const std::string metadata =
      "dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns\n"
      "d1,10000032,50000001,CHEST (PA AND LAT),PA,24,24\n"
      "d2,10000032,50000001,CHEST (PA AND LAT),LATERAL,24,24\n"
      "d3,10000033,50000002,CHEST (PORTABLE AP),AP,24,24\n"
      "d4,11000034,50000003,CHEST (PA AND LAT),PA,24,24\n"
      "d5,11000035,50000004,CHEST (PA AND LAT),PA,24,24\n";
  const std::string chexpert =
      "subject_id,study_id,Atelectasis,Cardiomegaly,Edema\n"
      "10000032,50000001,,1.0,\n"
      "10000033,50000002,1.0,0.0,\n"
      "11000034,50000003,,-1.0,1.0\n"
      "11000035,50000004,,,\n";
  const std::string split =
      "dicom_id,study_id,subject_id,split\n"
      "d1,50000001,10000032,train\nd2,50000001,10000032,train\nd3,50000002,10000033,validate\n"
      "d4,50000003,11000034,test\nd5,50000004,11000035,test\n";
  if (gz) {
    write_gz(root / "mimic-cxr-2.0.0-metadata.csv.gz", metadata);
    write_gz(root / "mimic-cxr-2.0.0-chexpert.csv.gz", chexpert);
    write_gz(root / "mimic-cxr-2.0.0-split.csv.gz", split);
  } else {
    write_text(root / "mimic-cxr-2.0.0-metadata.csv", metadata);
    write_text(root / "mimic-cxr-2.0.0-chexpert.csv", chexpert);
    write_text(root / "mimic-cxr-2.0.0-split.csv", split);
  }
  write_image(root / "files/p10/p10000032/s50000001/d1.jpg", 1);
  write_image(root / "files/p10/p10000032/s50000001/d2.jpg", 2);
  write_image(root / "files/p10/p10000033/s50000002/d3.jpg", 3);
  write_image(root / "files/p11/p11000034/s50000003/d4.jpg", 4);
  write_image(root / "files/p11/p11000035/s50000004/d5.jpg", 5);
  return root;
}

TEST(MimicCxrJpg, GzCsvsViewsAndUncertainPolicies) {
  const auto root = mimic_tree(true);
  const std::string base = "{name: mimic_cxr_jpg, root: " + root.string();
  // drop (default): d1 positive PA (train), d3 negative AP (validate → train); d4 uncertain
  // dropped, d5 blank dropped, d2 lateral filtered.
  auto dropped = open(base + "}");
  ASSERT_EQ(dropped->records().size(), 2u);
  EXPECT_EQ(dropped->records()[0].id, "files/p10/p10000032/s50000001/d1.jpg");
  EXPECT_EQ(dropped->records()[0].label, 1);
  EXPECT_EQ(dropped->records()[1].label, 0);
  EXPECT_EQ(dropped->records()[1].split, Split::kTrain);
  auto positive = open(base + ", mimic_cxr_jpg: {uncertain: positive}}");
  ASSERT_EQ(positive->records().size(), 3u);
  EXPECT_EQ(positive->records()[2].label, 1);
  EXPECT_EQ(positive->records()[2].split, Split::kTest);
  auto negative = open(base + ", mimic_cxr_jpg: {uncertain: negative, blank: negative}}");
  ASSERT_EQ(negative->records().size(), 4u);
  EXPECT_EQ(negative->records()[2].label, 0);
  EXPECT_EQ(negative->records()[3].label, 0);
  auto all_views = open(base + ", mimic_cxr_jpg: {views: []}}");
  EXPECT_EQ(all_views->records().size(), 3u);  // + lateral d2
  auto edema = open(base + ", mimic_cxr_jpg: {label_column: Edema, blank: negative}}");
  EXPECT_EQ(count_label(*edema, 1, Split::kTest), 1u);
  auto resplit = open(base + ", use_official_split: false, mimic_cxr_jpg: {uncertain: positive}}");
  for (const auto& r : resplit->records()) EXPECT_EQ(r.split, Split::kUnassigned);
}

TEST(MimicCxrJpg, PlainCsvsAndLayoutErrors) {
  const auto root = mimic_tree(false);
  EXPECT_EQ(open("{name: mimic_cxr_jpg, root: " + root.string() + "}")->records().size(), 2u);
  fs::remove(root / "files/p10/p10000033/s50000002/d3.jpg");
  std::string message = error_of<RunError>([&] { open("{name: mimic_cxr_jpg, root: " + root.string() + "}"); });
  EXPECT_NE(message.find("missing image files/p10/p10000033/s50000002/d3.jpg"), std::string::npos) << message;
  fs::remove(root / "mimic-cxr-2.0.0-split.csv");
  message = error_of<RunError>([&] { open("{name: mimic_cxr_jpg, root: " + root.string() + "}"); });
  EXPECT_NE(message.find("mimic-cxr-2.0.0-split.csv"), std::string::npos) << message;
  message = error_of<RunError>(
      [&] { open("{name: mimic_cxr_jpg, root: " + root.string() + ", use_official_split: false, mimic_cxr_jpg: {label_column: Cardio}}"); });
  EXPECT_NE(message.find("no column 'Cardio'"), std::string::npos) << message;
  EXPECT_THROW(open("{name: mimic_cxr_jpg, root: " + root.string() + ", mimic_cxr_jpg: {uncertain: maybe}}"),
               ConfigError);
}

TEST(KaggleDr, BinarisationAndOptionalTestLabels) {
  const auto root = fresh_dir("dr");
  write_gz(root / "trainLabels.csv.gz", "image,level\n10_left,0\n10_right,1\n13_left,2\n13_right,4\n");
  for (const char* name : {"10_left", "10_right", "13_left", "13_right"})
    write_image(root / "train" / (std::string(name) + ".jpeg"), 1, 3);
  auto any = open("{name: kaggle_dr, root: " + root.string() + "}");
  EXPECT_EQ(count_label(*any, 1, Split::kTrain), 3u);
  EXPECT_EQ(any->natural_channels(), 3);
  auto referable = open("{name: kaggle_dr, root: " + root.string() + ", kaggle_dr: {binarize: referable}}");
  EXPECT_EQ(count_label(*referable, 1, Split::kTrain), 2u);
  write_text(root / "retinopathy_solution.csv", "image,level,Usage\n1_left,3,Private\n");
  write_image(root / "test/1_left.jpeg", 2, 3);
  auto with_test = open("{name: kaggle_dr, root: " + root.string() + "}");
  EXPECT_EQ(count_label(*with_test, 1, Split::kTest), 1u);
  write_text(root / "trainLabels.csv", "image,level\n10_left,7\n99_left,0\n");  // plain wins over .gz
  const std::string message = error_of<RunError>([&] { open("{name: kaggle_dr, root: " + root.string() + "}"); });
  EXPECT_NE(message.find("2 layout problems"), std::string::npos) << message;
  EXPECT_NE(message.find("level '7'"), std::string::npos) << message;
  EXPECT_NE(message.find("missing image train/99_left.jpeg"), std::string::npos) << message;
}

TEST(ImageFolder, ClassMapSplitsAndUnknownFolders) {
  const auto root = fresh_dir("folder");
  write_image(root / "cats/a.png", 1);
  write_image(root / "dogs/b.png", 2);
  write_image(root / "dogs/c.png", 3);
  auto source = open("{name: image_folder, root: " + root.string() + ", image_folder: {classes: {cats: 0, dogs: 1}}}");
  EXPECT_EQ(count_label(*source, 1, Split::kUnassigned), 2u);
  EXPECT_EQ(source->natural_channels(), 0);
  EXPECT_NE(error_of<ConfigError>([&] { open("{name: image_folder, root: " + root.string() + "}"); }).find("classes"),
            std::string::npos);
  const std::string message = error_of<RunError>(
      [&] { open("{name: image_folder, root: " + root.string() + ", image_folder: {classes: {cats: 0}}}"); });
  EXPECT_NE(message.find("unknown class folder dogs"), std::string::npos) << message;
  const auto split_root = fresh_dir("foldersplit");
  write_image(split_root / "train/negative/a.png", 1);
  write_image(split_root / "train/positive/b.png", 1);
  write_image(split_root / "test/positive/c.png", 1);
  auto split = open("{name: image_folder, root: " + split_root.string() + "}");
  EXPECT_EQ(count_label(*split, 1, Split::kTest), 1u);
  EXPECT_EQ(count_label(*split, 0, Split::kTrain), 1u);
}

TEST(CsvManifest, LabelsSplitsAndPathEscape) {
  const auto root = fresh_dir("manifest");
  write_image(root / "img/a.png", 1);
  write_image(root / "img/b.png", 2);
  write_text(root / "manifest.csv", "path,label,split\nimg/a.png,1,train\n\"img/b.png\",0.0,test\n");
  auto source = open("{name: csv_manifest, root: " + root.string() + "}");
  ASSERT_EQ(source->records().size(), 2u);
  EXPECT_EQ(source->records()[0].label, 1);
  EXPECT_EQ(source->records()[1].split, Split::kTest);
  write_image(root.parent_path() / ("outside_" + root.filename().string() + ".png"), 1);
  write_text(root / "manifest.csv", "path,label\n../outside_" + root.filename().string() + ".png,1\n/etc/passwd,0\nimg/a.png,2\nimg/zz.png,1\n");
  const std::string message = error_of<RunError>([&] { open("{name: csv_manifest, root: " + root.string() + "}"); });
  EXPECT_NE(message.find("4 layout problems"), std::string::npos) << message;
  EXPECT_NE(message.find("escapes the dataset root"), std::string::npos) << message;
  EXPECT_NE(message.find("label '2'"), std::string::npos) << message;
  EXPECT_NE(message.find("missing image img/zz.png"), std::string::npos) << message;
  fs::create_directory_symlink("/etc", root / "link");
  write_text(root / "manifest.csv", "path,label\nlink/passwd,1\n");
  EXPECT_NE(error_of<RunError>([&] { open("{name: csv_manifest, root: " + root.string() + "}"); }).find("escapes"),
            std::string::npos);
}

TEST(SyntheticFolder, ClassFoldersOrManifestAndGeneratorName) {
  const auto root = fresh_dir("synth");
  write_image(root / "positive/0.png", 1);
  write_image(root / "negative/0.png", 2);
  register_all();
  SourceOptions options;
  options.root = root;
  options.generator = "fastgan";
  const auto schema = dataset_schema("synthetic_folder");
  config::Params params(schema->validate(YAML::Node(), "synthetic_folder", config::Provenance()), "synthetic_folder");
  auto source = dataset_registry().create("synthetic_folder", params, options);
  EXPECT_EQ(source->generator(), "fastgan");
  EXPECT_EQ(source->records().size(), 2u);
  write_text(root / "manifest.csv", "path,label\npositive/0.png,1\n");
  options.generator.clear();
  auto from_manifest = dataset_registry().create("synthetic_folder", params, options);
  EXPECT_EQ(from_manifest->records().size(), 1u);
  EXPECT_EQ(from_manifest->generator(), root.filename().string());
}

TEST(Registry, EveryLoaderIsRegisteredWithASchema) {
  register_all();
  for (const char* name : {"brain_tumor_kaggle", "mimic_cxr_jpg", "kaggle_dr", "image_folder", "csv_manifest",
                           "synthetic_folder", "demo_mri", "demo_cxr", "demo_fundus"}) {
    EXPECT_TRUE(dataset_registry().contains(name)) << name;
    EXPECT_NE(dataset_schema(name), nullptr) << name;
  }
  EXPECT_THROW(dataset_schema("kaggle_drr"), ConfigError);
  EXPECT_THROW(data("{name: demo_mri, kaggle_dr: {binarize: sometimes}}"), ConfigError);
  EXPECT_THROW(data("{name: demo_mri, imagesize: 3}"), ConfigError);
}

}  // namespace
}  // namespace frerec::datasets
