// Table 2 / Table 3 builders on hand-made records (experiments/reports.h): the ablation rows
// compare on shared seeds, and Table 2's ΔAUC column is the paired mean with its bootstrap
// interval.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

#include "augmentations/method.h"
#include "experiments/reports.h"
#include "framework/report/stats.h"

namespace frerec::experiments {
namespace {

nlohmann::json record(const std::string& method, int seed, double auc, double psnr = 30.0) {
  return {{"cell", "demo_mri/" + method + "/densenet_small/seed=" + std::to_string(seed)},
          {"coordinates", nlohmann::json::object()},
          {"metrics", {{"auc", auc}, {"accuracy", 0.8}, {"f1", 0.8}, {"psnr", psnr}, {"ssim", 0.9}}}};
}

const report::TableCell& cell(const report::Table& table, const std::string& method, std::size_t column) {
  for (const auto& row : table.rows)
    if (row.cells.front().text == method) return row.cells.at(column);
  throw std::runtime_error("no row " + method);
}

std::string cell_text(const report::Table& table, const std::string& method, std::size_t column) {
  return cell(table, method, column).text;
}

// The rows come from what each method declares when it registers, not from a list in the
// report code: the paper's order, and a newly registered method takes the place it asks for.
TEST(Tables, RowOrderComesFromTheMethodRegistry) {
  EXPECT_EQ(table2_method_order(), (std::vector<std::string>{"raw", "autoaugment", "mixup", "afa", "gda_external", "gda",
                                                              "gda_lowpass", "gda_frerec"}));
  const std::vector<std::pair<std::string, std::string>> paper = {{"gda_shr", "SHR"},
                                                                  {"gda_rhm_restormer", "RHM w.o. FESA"},
                                                                  {"gda_rhm", "RHM w. FESA"},
                                                                  {"gda_frerec", "FreRec"},
                                                                  {"gda_shr_restormer", "SHR + RHM w.o. FESA (extra)"}};
  EXPECT_EQ(table3_variants(), paper);
  augmentations::set_report_placement("my_method", {50, -1, ""});
  const auto order = table2_method_order();
  ASSERT_EQ(order.size(), 9u);
  EXPECT_EQ(order[7], "my_method");  // after gda_lowpass (6), before GDA+FreRec (100)
  const auto table = make_table2({record("gda_frerec", 0, 0.9), record("my_method", 0, 0.8), record("gda", 0, 0.7),
                                  record("zzz_unplaced", 0, 0.6)},
                                 "gda");
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0].cells.front().text, "gda");
  EXPECT_EQ(table.rows[1].cells.front().text, "my_method");
  EXPECT_EQ(table.rows[2].cells.front().text, "gda_frerec");
  EXPECT_EQ(table.rows[3].cells.front().text, "zzz_unplaced");  // undeclared methods come last
}

TEST(Table3, VariantsCompareOnTheSeedsTheyShare) {
  std::vector<nlohmann::json> records;
  for (int seed = 0; seed < 3; ++seed) records.push_back(record("gda_shr", seed, 0.70, 25.0));
  // FreRec also has seeds 3 and 4 (from Table 2) with very different AUCs: left out.
  for (int seed = 0; seed < 5; ++seed) records.push_back(record("gda_frerec", seed, seed < 3 ? 0.80 : 0.10, 35.0));
  const auto table = make_table3(records);
  ASSERT_TRUE(table);
  ASSERT_TRUE(cell(*table, "FreRec", 1).value);
  EXPECT_NEAR(*cell(*table, "FreRec", 1).value, 0.80, 1e-12);  // seeds 0-2 only
  EXPECT_EQ(cell_text(*table, "FreRec", 9), "3");
  bool noted = false;
  for (const auto& note : table->notes) noted = noted || note.find("2 records of other seeds left out") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(Table2, DeltaAucWithBootstrapIntervalAgainstTheReference) {
  std::vector<nlohmann::json> records;
  const double gda[5] = {0.80, 0.82, 0.79, 0.81, 0.80}, raw[5] = {0.78, 0.83, 0.75, 0.80, 0.77};
  for (int seed = 0; seed < 5; ++seed) {
    records.push_back(record("gda", seed, gda[seed]));
    records.push_back(record("raw", seed, raw[seed]));
  }
  const report::Table table = make_table2(records, "gda");
  ASSERT_EQ(table.columns.at(5), "ΔAUC vs gda [95% CI]");
  std::vector<double> delta;
  for (int seed = 0; seed < 5; ++seed) delta.push_back(raw[seed] - gda[seed]);
  const auto [low, high] = report::bootstrap_mean_ci(delta);
  EXPECT_EQ(cell_text(table, "raw", 5), fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", -0.018, low, high));
  EXPECT_EQ(cell_text(table, "gda", 5), "–");
  EXPECT_LT(low, high);
}

// The notes say whether the seeds of the FreRec rows also varied FreRec's own randomness.
TEST(Tables, NotesSayHowFreRecRandomnessFollowedTheSeeds) {
  auto frerec_record = [](int seed, const char* randomness) {
    nlohmann::json r = record("gda_frerec", seed, 0.8);
    r["extra"]["method"]["frerec"] = {{"stage", "full"}};
    if (randomness) r["extra"]["method"]["frerec"]["randomness"] = randomness;
    return r;
  };
  auto has_note = [](const report::Table& table, const std::string& text) {
    for (const auto& note : table.notes)
      if (note.find(text) != std::string::npos) return true;
    return false;
  };
  const std::vector<nlohmann::json> per_cell = {record("gda", 0, 0.7), record("gda", 1, 0.7),
                                                frerec_record(0, "per_cell"), frerec_record(1, "per_cell")};
  EXPECT_TRUE(has_note(make_table2(per_cell, "gda"), "varies with the seed"));
  std::vector<nlohmann::json> ablation = per_cell;  // Table 3 needs two variants in a group
  ablation.push_back(record("gda_shr", 0, 0.75));
  ablation.back()["extra"]["method"]["frerec"] = {{"stage", "shr"}, {"randomness", "per_cell"}};
  const auto table3 = make_table3(ablation);
  ASSERT_TRUE(table3);
  EXPECT_TRUE(has_note(*table3, "varies with the seed"));
  // Records from before the setting existed were fixed at seed 0.
  const std::vector<nlohmann::json> old = {record("gda", 0, 0.7), frerec_record(0, nullptr)};
  EXPECT_TRUE(has_note(make_table2(old, "gda"), "fixed across seeds"));
  const std::vector<nlohmann::json> mixed = {record("gda", 0, 0.7), frerec_record(0, "per_cell"), frerec_record(1, "fixed")};
  EXPECT_TRUE(has_note(make_table2(mixed, "gda"), "per cell in some rows"));
  const std::vector<nlohmann::json> none = {record("gda", 0, 0.7), record("raw", 0, 0.6)};
  EXPECT_FALSE(has_note(make_table2(none, "gda"), "FreRec's own randomness"));
}

}  // namespace
}  // namespace frerec::experiments
