// Grid expansion, cell ids and experiment-level validation.
#include <gtest/gtest.h>

#include "framework/config/experiment_schema.h"
#include "framework/core/error.h"
#include "framework/runner/plan.h"
#include "tests/framework/test_util.h"
#include "tests/framework/toy_components.h"

namespace frerec {
namespace {

using testing::TempDir;
using testing::write_text;

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::register_toy_components(); }
  TempDir dir_;
};

TEST_F(PlanTest, GridExpandsWithSeedInnermostAndStableIds) {
  write_text(dir_ / "exp.yaml",
             "experiment: {kind: toy}\ngrid:\n  seed: [0, 1, 2]\n  data.name: [d1, d2]\n  method.name: [alpha, beta]\n");
  const ExperimentPlan plan = make_plan(dir_ / "exp.yaml", {});
  ASSERT_EQ(plan.cells.size(), 12u);
  EXPECT_EQ(plan.name, "exp");
  EXPECT_EQ(plan.kind, "toy");
  EXPECT_EQ(plan.cells[0].id, "toy/d1/alpha/none/seed=0");
  EXPECT_EQ(plan.cells[1].id, "toy/d1/alpha/none/seed=1");
  EXPECT_EQ(plan.cells[3].id, "toy/d1/beta/none/seed=0");
  EXPECT_EQ(plan.cells[6].id, "toy/d2/alpha/none/seed=0");
  EXPECT_EQ(plan.cells[11].id, "toy/d2/beta/none/seed=2");
  for (std::size_t i = 0; i < plan.cells.size(); ++i) EXPECT_EQ(plan.cells[i].index, i);
  // Same config → same ids and hashes; a changed value changes only the hash.
  const ExperimentPlan again = make_plan(dir_ / "exp.yaml", {});
  EXPECT_EQ(again.cells[5].id, plan.cells[5].id);
  EXPECT_EQ(again.cells[5].config_hash, plan.cells[5].config_hash);
  const ExperimentPlan changed = make_plan(dir_ / "exp.yaml", {"toy.sleep_ms=5"});
  EXPECT_EQ(changed.cells[5].id, plan.cells[5].id);
  EXPECT_NE(changed.cells[5].config_hash, plan.cells[5].config_hash);
}

TEST_F(PlanTest, UnselectedComponentBlocksDoNotChangeTheHash) {
  write_text(dir_ / "exp.yaml", "experiment: {kind: toy}\nmethod: {name: beta, alpha: {strength: 2.0}}\n");
  const auto a = make_plan(dir_ / "exp.yaml", {});
  const auto b = make_plan(dir_ / "exp.yaml", {"method.alpha.strength=3.0"});
  EXPECT_EQ(a.cells[0].config_hash, b.cells[0].config_hash);
  EXPECT_FALSE(a.cells[0].config["method"]["alpha"]);
  // Selected: the block is kept, filled with defaults, and part of the hash.
  const auto c = make_plan(dir_ / "exp.yaml", {"method.name=alpha"});
  EXPECT_DOUBLE_EQ(c.cells[0].config["method"]["alpha"]["strength"].as<double>(), 2.0);
}

TEST_F(PlanTest, ExtraSweepsAppearInTheFolderName) {
  write_text(dir_ / "exp.yaml", "experiment: {kind: toy}\n");
  const auto plan = make_plan(dir_ / "exp.yaml", {"toy.sleep_ms=[1,2]", "seed=[7]"});
  ASSERT_EQ(plan.cells.size(), 2u);
  EXPECT_EQ(plan.cells[0].id, "toy/d1/alpha/none/toy.sleep_ms=1/seed=7");
  EXPECT_EQ(plan.cells[1].id, "toy/d1/alpha/none/toy.sleep_ms=2/seed=7");
}

TEST_F(PlanTest, ConfigTypoIsOneLineWithSuggestion) {
  write_text(dir_ / "exp.yaml", "experiment: {kind: toy}\ntoy:\n  slep_ms: 3\n");
  try {
    make_plan(dir_ / "exp.yaml", {});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("exp.yaml:3"), std::string::npos) << m;
    EXPECT_NE(m.find("'toy.slep_ms'"), std::string::npos) << m;
    EXPECT_NE(m.find("did you mean 'toy.sleep_ms'?"), std::string::npos) << m;
    EXPECT_EQ(e.exit_code(), 2);
  }
}

TEST_F(PlanTest, UnknownComponentAndUnknownMethodBlock) {
  write_text(dir_ / "exp.yaml", "experiment: {kind: toy}\nmethod: {name: alhpa}\n");
  try {
    make_plan(dir_ / "exp.yaml", {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'alpha'?"), std::string::npos) << e.what();
  }
  write_text(dir_ / "exp2.yaml", "experiment: {kind: toy}\nmethod: {alpha: {strenght: 1}}\n");
  try {
    make_plan(dir_ / "exp2.yaml", {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'method.alpha.strength'?"), std::string::npos) << e.what();
  }
}

TEST_F(PlanTest, ListValuedKeyOverrideIsAValue) {
  write_text(dir_ / "exp.yaml", "experiment: {kind: toy}\n");
  const auto plan = make_plan(dir_ / "exp.yaml", {"toy.sizes=[3,4,5]"});
  ASSERT_EQ(plan.cells.size(), 1u);
  EXPECT_EQ(plan.cells[0].config["toy"]["sizes"].size(), 3u);
  EXPECT_TRUE(config::is_list_key("toy.sizes"));
  EXPECT_FALSE(config::is_list_key("toy.sleep_ms"));
}

// Names become the folder results/<name>: anything but one plain path component ('..', '.',
// an absolute path, a '/' inside) would put plan.json, tables and cells elsewhere.
TEST_F(PlanTest, ExperimentAndSuiteNamesArePlainFolderNames) {
  write_text(dir_ / "exp.yaml", "experiment: {kind: toy}\n");
  EXPECT_EQ(make_plan(dir_ / "exp.yaml", {"experiment.name=my_run-2"}).name, "my_run-2");
  for (const std::string name : {"..", ".", "/tmp/elsewhere", "a/b", "../up", "a\\b"}) {
    try {
      make_plan(dir_ / "exp.yaml", {"experiment.name=" + name});
      FAIL() << "expected a ConfigError for " << name;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("experiment.name '" + name + "' must be a plain folder name"), std::string::npos)
          << e.what();
      EXPECT_EQ(e.exit_code(), 2);
    }
  }
  write_text(dir_ / "named.yaml", "experiment: {kind: toy, name: ..}\n");
  EXPECT_THROW(make_plan(dir_ / "named.yaml", {}), ConfigError);
  for (const std::string name : {"a/b", "/abs", "."}) {
    write_text(dir_ / "suite.yaml", "suite:\n  name: '" + name + "'\n  parts: [exp.yaml]\n");
    EXPECT_THROW(make_suite(dir_ / "suite.yaml", {}), ConfigError) << name;
  }
}

}  // namespace
}  // namespace frerec
