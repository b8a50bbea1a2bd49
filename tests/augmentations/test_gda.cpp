// GDA mixing: counts per class, seeded subsampling, synthetic never in val/test, the
// gda / gda_external methods on a demo task (datasets::load_task, temporary cache) and a
// synthetic_folder tree written by the test; bad configurations → clear errors. Also the
// registry entries of every method of this library.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "augmentations/core/gda.h"
#include "augmentations/method.h"
#include "datasets/register.h"
#include "framework/core/error.h"
#include "framework/io/image_io.h"

namespace frerec::augmentations {
namespace {
namespace fs = std::filesystem;

class GdaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    datasets::register_all();
    register_all();
    root_ = fs::temp_directory_path() / ("frerec_test_gda_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    run_.threads = 1;
    run_.cache_dir = root_ / "cache";
    task_ = std::make_unique<datasets::TaskData>(datasets::load_task(data_section(true), run_));
    real_only_ = std::make_unique<datasets::TaskData>(datasets::load_task(data_section(false), run_));
  }
  static void TearDownTestSuite() {
    task_.reset();
    real_only_.reset();
    fs::remove_all(root_);
  }

  static config::Params data_section(bool with_synthetic) {
    YAML::Node node = YAML::Load(
        "name: demo_mri\nimage_size: 16\n"
        "counts: {train: {positive: 6, negative: 5}, test: {positive: 3, negative: 3},"
        "         synthetic: {positive: 4, negative: 7}}\n"
        "demo_mri: {train_per_class: 12, test_per_class: 4}\n");
    if (with_synthetic)
      node["synthetic"] = YAML::Load("{name: demo_cxr, generator: testgen, demo_cxr: {seed: 1, train_per_class: 8, test_per_class: 2}}");
    return datasets::validate_data_section(node, "data");
  }

  static config::Params method_params(const std::string& name, const std::string& yaml) {
    const ComponentInfo* info = Catalog::instance().find("methods", name);
    EXPECT_NE(info, nullptr) << name;
    return config::Params(info->schema->validate(YAML::Load(yaml), "method." + name, config::Provenance()),
                          "method." + name);
  }

  static TrainingInputs prepare(const datasets::TaskData& task, const std::string& name, const std::string& yaml,
                                std::uint64_t seed, const config::Params& data = data_section(true)) {
    const config::Params params = method_params(name, yaml);
    CellData cell{task, config::Params(), params, data, seed, run_};
    return method_registry().create(name, params)->prepare(cell);
  }

  static std::multiset<std::string> ids(const train::SampleSource& source) {
    std::multiset<std::string> out;
    for (std::size_t i = 0; i < source.size(); ++i) out.insert(source.get(i).id);
    return out;
  }

  static inline fs::path root_;
  static inline RunContext run_;
  static inline std::unique_ptr<datasets::TaskData> task_, real_only_;
};

TEST_F(GdaTest, AllSyntheticPerClassCountsAndRealOnlyEvaluation) {
  ASSERT_EQ(task_->synthetic.size(), 11u);
  const TrainingInputs in = prepare(*task_, "gda", "{}", 0);
  EXPECT_EQ(in.train->size(), 11u + 11u);
  EXPECT_EQ(in.record["train_real"], 11);
  EXPECT_EQ(in.record["train_synthetic"], 11);
  EXPECT_EQ(in.record["train_synthetic_per_class"]["negative"], 7);
  EXPECT_EQ(in.record["train_synthetic_per_class"]["positive"], 4);
  EXPECT_EQ(in.record["synthetic_generator"], task_->generator);  // the synthetic source's name
  EXPECT_EQ(in.validation, nullptr);
  // Test: exactly the real test images.
  ASSERT_NE(in.test, nullptr);
  EXPECT_EQ(in.test->size(), 6u);
  const auto test_ids = ids(*in.test);
  EXPECT_EQ(test_ids, std::multiset<std::string>(task_->real_test.ids().begin(), task_->real_test.ids().end()));
  // Train: the real train ids plus the synthetic ones, labels preserved.
  std::multiset<std::string> expected(task_->real_train.ids().begin(), task_->real_train.ids().end());
  expected.insert(task_->synthetic.ids().begin(), task_->synthetic.ids().end());
  EXPECT_EQ(ids(*in.train), expected);
  int positives = 0;
  for (std::size_t i = 0; i < in.train->size(); ++i) positives += in.train->get(i).label;
  EXPECT_EQ(positives, 6 + 4);
}

TEST_F(GdaTest, SeededSubsamplePerClassIsDeterministic) {
  const TrainingInputs a = prepare(*task_, "gda", "{synthetic_per_class: 3}", 7);
  const TrainingInputs b = prepare(*task_, "gda", "{synthetic_per_class: 3}", 7);
  EXPECT_EQ(a.train->size(), 11u + 6u);
  EXPECT_EQ(a.record["train_synthetic_per_class"]["negative"], 3);
  EXPECT_EQ(a.record["train_synthetic_per_class"]["positive"], 3);
  EXPECT_EQ(ids(*a.train), ids(*b.train));
  // Different seeds choose different subsets (checked over several seeds).
  bool differs = false;
  for (std::uint64_t seed = 8; seed < 14 && !differs; ++seed)
    differs = ids(*prepare(*task_, "gda", "{synthetic_per_class: 3}", seed).train) != ids(*a.train);
  EXPECT_TRUE(differs);
  // The kept indices: 3 per class, ascending, from the pool.
  const auto kept = subsample_per_class(task_->synthetic.labels(), 3, 7, "gda");
  ASSERT_EQ(kept.size(), 6u);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_EQ(subsample_per_class({0, 1, 0, 1}, -1, 1, "gda"), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(subsample_per_class({0, 1, 0, 1}, 0, 1, "gda").size(), 0u);
}

TEST_F(GdaTest, ErrorsNameTheFix) {
  try {
    prepare(*real_only_, "gda", "{}", 0, data_section(false));
    FAIL() << "no error";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("data.synthetic"), std::string::npos) << e.what();
  }
  try {
    prepare(*task_, "gda", "{synthetic_per_class: 5}", 0);  // only 4 positives
    FAIL() << "no error";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("only 4 positive"), std::string::npos) << e.what();
  }
  EXPECT_THROW(method_params("gda", "{synthetic_per_class: -2}"), ConfigError);
}

void write_folder(const fs::path& root, const std::vector<std::pair<std::string, int>>& classes) {
  for (const auto& [name, count] : classes) {
    fs::create_directories(root / name);
    for (int i = 0; i < count; ++i) {
      Image image(1, 20, 20, 0.1f * (i + 1));
      image.at(0, i, i) = 1.0f;
      io::write_png(root / name / ("img" + std::to_string(i) + ".png"), image);
    }
  }
}

TEST_F(GdaTest, ExternalFolderWithTaskPreprocessingAndCounts) {
  const fs::path folder = root_ / "doge";
  write_folder(folder, {{"negative", 9}, {"positive", 5}});
  const std::string yaml = "{root: '" + folder.string() + "', generator: DoGE}";
  const TrainingInputs in = prepare(*real_only_, "gda_external", yaml, 0, data_section(false));
  // data.counts.synthetic (7 negative, 4 positive) applied to the folder's 9 + 5 images.
  EXPECT_EQ(in.record["train_synthetic"], 11);
  EXPECT_EQ(in.record["train_synthetic_per_class"]["negative"], 7);
  EXPECT_EQ(in.record["synthetic_generator"], "DoGE");
  EXPECT_EQ(in.train->size(), 22u);
  const train::Sample last = in.train->get(in.train->size() - 1);
  EXPECT_EQ(last.image.height, 16);  // resized to data.image_size
  EXPECT_EQ(last.image.width, 16);
  EXPECT_EQ(last.image.channels, 1);
  EXPECT_EQ(in.test->size(), 6u);
  const TrainingInputs sub =
      prepare(*real_only_, "gda_external", "{root: '" + folder.string() + "', synthetic_per_class: 2}", 1,
              data_section(false));
  EXPECT_EQ(sub.record["train_synthetic"], 4);
  EXPECT_EQ(sub.record["synthetic_generator"], "doge");  // default: the folder name
}

TEST_F(GdaTest, ExternalFolderWithAClassTheDatasetLacksIsAnError) {
  const fs::path folder = root_ / "bad_classes";
  write_folder(folder, {{"negative", 2}, {"positive", 2}, {"glioma", 2}});
  try {
    prepare(*real_only_, "gda_external", "{root: '" + folder.string() + "'}", 0, data_section(false));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("glioma"), std::string::npos) << message;
    EXPECT_NE(message.find("gda_external"), std::string::npos) << message;
  }
  EXPECT_THROW(method_params("gda_external", "{}"), ConfigError);  // root is required
}

TEST(MethodRegistry, EveryBaselineIsRegisteredWithItsSchema) {
  register_all();
  for (const char* name : {"raw", "autoaugment", "mixup", "afa", "gda", "gda_external"}) {
    EXPECT_TRUE(method_registry().contains(name)) << name;
    const ComponentInfo* info = Catalog::instance().find("methods", name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_FALSE(info->description.empty());
  }
  const auto params = [](const std::string& name, const std::string& yaml) {
    return config::Params(Catalog::instance().find("methods", name)->schema->validate(YAML::Load(yaml), "method." + name,
                                                                                      config::Provenance()),
                          "method." + name);
  };
  EXPECT_DOUBLE_EQ(params("mixup", "{}").get<double>("alpha"), 0.2);
  EXPECT_EQ(params("autoaugment", "{}").get<std::string>("policy"), "imagenet");
  EXPECT_DOUBLE_EQ(params("afa", "{}").get<double>("mean_strength"), 10.0);
  EXPECT_EQ(params("afa", "{}").get<int>("granularity"), 448);
  // Bad configurations: α ≤ 0 at creation, an unknown policy at validation.
  EXPECT_THROW(method_registry().create("mixup", params("mixup", "{alpha: 0}")), ConfigError);
  EXPECT_THROW(method_registry().create("mixup", params("mixup", "{alpha: -1}")), ConfigError);
  EXPECT_THROW(params("autoaugment", "{policy: imagenet2}"), ConfigError);
  EXPECT_THROW(method_registry().create("afa", params("afa", "{mean_strength: 0}")), ConfigError);
}

}  // namespace
}  // namespace frerec::augmentations
