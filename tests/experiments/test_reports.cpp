// Table 2 / Table 3 builders on hand-made records (experiments/reports.h): the ablation rows
// compare on shared seeds, and Table 2's ΔAUC column is the paired mean with its bootstrap
// interval.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

#include "augmentations/method.h"
#include "experiments/register.h"
#include "experiments/reports.h"
#include "framework/core/atomic_file.h"
#include "framework/io/csv.h"
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
// The positive control's table: per operator, the oracle row, the biased GDA row and each
// recalibration with its recovery fraction (paired sums over shared seeds) and bootstrap
// interval; gaps from the FreRec records; nothing without the operator coordinate.
TEST(PositiveControl, RecoveryFractionOnSharedSeedsWithItsInterval) {
  const std::string key = "data.synthetic.known_bias.operator";
  auto control = [&](const std::string& method, const std::string& op, int seed, double auc, double before = NAN,
                     double after = NAN) {
    nlohmann::json r = {{"cell", "demo_mri/" + method + "/densenet_small/" + key + "=" + op + "/seed=" +
                                     std::to_string(seed)},
                        {"coordinates", {{key, op}}},
                        {"metrics", {{"auc", auc}}}};
    if (!std::isnan(before)) r["metrics"]["spectral_gap_before"] = before;
    if (!std::isnan(after)) r["metrics"]["spectral_gap_after"] = after;
    return r;
  };
  const double oracle[5] = {0.90, 0.92, 0.88, 0.91, 0.89}, biased[5] = {0.70, 0.72, 0.69, 0.71, 0.70},
               frerec[5] = {0.80, 0.83, 0.77, 0.82, 0.79};
  std::vector<nlohmann::json> records;
  double gained = 0, possible = 0;
  std::vector<double> gains, spans;
  for (int seed = 0; seed < 5; ++seed) {
    records.push_back(control("gda", "none", seed, oracle[seed]));
    records.push_back(control("gda", "blur", seed, biased[seed]));
    records.push_back(control("gda_shr", "blur", seed, biased[seed], 0.065, 0.058));
    if (seed < 4) records.push_back(control("gda_frerec", "blur", seed, frerec[seed], 0.065, 0.030));
    if (seed < 4) {
      gained += frerec[seed] - biased[seed];
      possible += oracle[seed] - biased[seed];
      gains.push_back(frerec[seed] - biased[seed]);
      spans.push_back(oracle[seed] - biased[seed]);
    }
  }
  records.push_back(control("gda", "hf_noise", 0, 0.75));  // no oracle-paired recalibration rows
  for (int seed = 0; seed < 2; ++seed) {  // a bias that cost nothing: the oracle does not beat it
    records.push_back(control("gda", "checkerboard", seed, 0.95));
    records.push_back(control("gda_frerec", "checkerboard", seed, 0.97));
  }
  const auto table = make_positive_control_table(records);
  ASSERT_TRUE(table.has_value());
  auto row = [&](const std::string& group, const std::string& label) -> const report::TableRow& {
    for (const auto& r : table->rows)
      if (r.group == group && r.cells.front().text == label) return r;
    throw std::runtime_error("no row " + group + " " + label);
  };
  const std::string blur = "demo_mri / densenet_small / blur";
  EXPECT_EQ(row(blur, "oracle (unbiased pool)").cells.at(1).plain(), report::TableCell::mean_std({0.90, 0.92, 0.88, 0.91, 0.89}).plain());
  const auto [low, high] = report::bootstrap_ratio_ci(gains, spans);
  EXPECT_EQ(row(blur, "FreRec").cells.at(4).text,
            fmt::format("{:.2f} [{:.2f}, {:.2f}] (4 seeds)", gained / possible, low, high));
  EXPECT_NEAR(gained / possible, 0.5, 0.02);
  EXPECT_EQ(row(blur, "FreRec").cells.at(3).plain(), "0.0300");
  EXPECT_EQ(row(blur, "GDA (biased pool)").cells.at(2).plain(), "0.0650");
  EXPECT_EQ(row(blur, "GDA (biased pool)").cells.at(4).text, "–");
  EXPECT_EQ(row(blur, "SHR").cells.at(4).text.rfind("0.00 [", 0), 0u) << row(blur, "SHR").cells.at(4).text;
  EXPECT_EQ(row("demo_mri / densenet_small / hf_noise", "oracle (unbiased pool)").cells.at(5).text, "5");
  EXPECT_EQ(row("demo_mri / densenet_small / checkerboard", "FreRec").cells.at(4).text,
            "n/a (oracle ≤ biased: the bias cost no AUC)");
  // The oracle row leads its operator's group, then GDA and the recalibrations in order.
  std::vector<std::string> order;
  for (const auto& r : table->rows)
    if (r.group == blur) order.push_back(r.cells.front().text);
  EXPECT_EQ(order, (std::vector<std::string>{"oracle (unbiased pool)", "GDA (biased pool)", "SHR", "FreRec"}));
  EXPECT_FALSE(make_positive_control_table({record("gda", 0, 0.7)}).has_value());
}

// Learning curve: one row per method and budget, the paired change from the budget below,
// and the plateau (the smallest budget no larger one beats by more than the tolerance).
TEST(LearningCurve, PlateauIsTheSmallestBudgetNoLargerOneBeatsByTheTolerance) {
  auto run = [](const std::string& task, int steps, int seed, double auc) {
    return nlohmann::json{{"cell", task + "/raw/densenet_small/train.steps=" + std::to_string(steps) + "/seed=" +
                                       std::to_string(seed)},
                          {"coordinates", {{"train.steps", std::to_string(steps)}}},
                          {"metrics", {{"auc", auc}}}};
  };
  std::vector<nlohmann::json> records;
  // demo_mri rises to 800 steps, then stays within 0.01 (a dip at 1600 does not count as gain).
  const std::map<int, std::array<double, 2>> mri = {
      {100, {0.60, 0.62}}, {200, {0.75, 0.73}}, {400, {0.84, 0.86}}, {800, {0.895, 0.905}}, {1600, {0.89, 0.90}},
      {3200, {0.905, 0.91}}};
  for (const auto& [steps, auc] : mri)
    for (int seed = 0; seed < 2; ++seed) records.push_back(run("demo_mri", steps, seed, auc[seed]));
  // demo_cxr still gains 0.05 at its largest budget: not reached.
  records.push_back(run("demo_cxr", 100, 0, 0.70));
  records.push_back(run("demo_cxr", 200, 0, 0.80));
  records.push_back(run("demo_cxr", 400, 0, 0.85));
  const auto curve = make_learning_curve(records);
  ASSERT_TRUE(curve.has_value());
  auto row = [&](const std::string& group, const std::string& steps) -> const report::TableRow& {
    for (const auto& r : curve->table.rows)
      if (r.group == group && r.cells.at(1).text == steps) return r;
    throw std::runtime_error("no row " + group + " " + steps);
  };
  const std::string mri_group = "demo_mri / densenet_small";
  EXPECT_EQ(row(mri_group, "800").cells.at(5).text, "from here");
  for (const char* steps : {"100", "200", "400", "1600", "3200"}) EXPECT_EQ(row(mri_group, steps).cells.at(5).text, "");
  EXPECT_EQ(row(mri_group, "400").cells.at(2).plain(), report::TableCell::mean_std({0.84, 0.86}).plain());
  EXPECT_EQ(row(mri_group, "800").cells.at(4).text, "+0.050 (2 paired)");
  EXPECT_EQ(row(mri_group, "100").cells.at(4).text, "–");
  EXPECT_EQ(row(mri_group, "800").cells.at(3).text, "2");
  EXPECT_EQ(row("demo_cxr / densenet_small", "400").cells.at(5).text, "not reached");
  // A tolerance of 0.06 moves the mri plateau down to 400 (best later mean 0.9075 − 0.85), not
  // to 200 (0.9075 − 0.74).
  const auto loose = make_learning_curve(records, 0.06);
  for (const auto& r : loose->table.rows) {
    if (r.group != mri_group) continue;
    EXPECT_EQ(r.cells.at(5).text, r.cells.at(1).text == "400" ? "from here" : "");
  }
  // The figure's series: budgets in increasing order with the mean and the std.
  ASSERT_EQ(curve->panels.size(), 2u);
  const auto& points = curve->panels.at(1).second.at(0).second;  // demo_mri / raw
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points.front()[0], 100.0);
  EXPECT_NEAR(points.front()[1], 0.61, 1e-12);
  EXPECT_GT(points.front()[2], 0.0);
  EXPECT_FALSE(make_learning_curve({record("gda", 0, 0.7)}).has_value());
}

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

// The page (experiments/html_report.h): Table 2 as table2.csv, training curves, one section
// per cell with its resolved config, the failed cell's first error line; text from a config
// cannot inject markup.
TEST(HtmlReport, OnePageWithTablesCurvesCellsAndEscapedText) {
  namespace fs = std::filesystem;
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("frerec-html-" + std::to_string(rd()));
  const std::string injected = "</pre><script>alert(1)</script><img src=x onerror=alert(2)>";
  for (const std::string method : {"raw", "gda"})
    for (int seed = 0; seed < 2; ++seed) {
      nlohmann::json r = record(method, seed, method == "gda" ? 0.9 + 0.01 * seed : 0.8 + 0.02 * seed);
      r["status"] = "ok";
      r["kind"] = "classify";
      r["config_hash"] = "h";
      r["timing"] = {{"wall_seconds", 12.5}};
      const fs::path cell = dir / r["cell"].get<std::string>();
      fs::create_directories(cell);
      write_file_atomic(cell / "record.json", r.dump());
      write_file_atomic(cell / "config.yaml", fmt::format("experiment:\n  description: \"{}\"\nmethod:\n  name: {}\nseed: {}\n",
                                                          injected, method, seed));
      std::string log;
      for (int epoch = 1; epoch <= 3; ++epoch)
        log += nlohmann::json({{"epoch", epoch}, {"train_loss", 1.0 / (epoch + seed)}, {"lr", 0.1}}).dump() + "\n";
      write_file_atomic(cell / "train_log.jsonl", log);
    }
  const fs::path failed = dir / "demo_mri/mixup/densenet_small/seed=0";
  fs::create_directories(failed);
  write_file_atomic(failed / "error.json", nlohmann::json({{"message", "mixup: <alpha> is NaN\nstack"}}).dump());

  register_all();
  const std::string written = build_reports(dir);
  EXPECT_NE(written.find("index.html"), std::string::npos) << written;
  const std::string page = read_file(dir / "index.html");
  // Table 2: every cell of table2.csv, in order, is a cell of the page's table.
  const io::CsvTable table2 = io::read_csv(dir / "table2.csv");
  const auto begin = page.find("id=\"table2-table\"");
  ASSERT_NE(begin, std::string::npos);
  const std::string table_html = page.substr(begin, page.find("</table>", begin) - begin);
  std::size_t at = 0;
  for (const auto& row : table2.rows)
    for (const auto& value : row) {
      const auto found = table_html.find(">" + value + "</td>", at);
      ASSERT_NE(found, std::string::npos) << value;
      at = found;
    }
  EXPECT_NE(page.find("Training curves per method"), std::string::npos);
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("demo_mri / densenet_small: mean over seeds"), std::string::npos);
  // One section per cell (4 finished, 1 failed with its first error line only).
  std::size_t sections = 0;
  for (auto p = page.find("<details id=\"cell-"); p != std::string::npos; p = page.find("<details id=\"cell-", p + 1))
    ++sections;
  EXPECT_EQ(sections, 5u);
  EXPECT_NE(page.find("mixup: &lt;alpha&gt; is NaN"), std::string::npos);
  EXPECT_EQ(page.find("stack"), std::string::npos);
  // The injected text appears escaped, never as markup.
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page.find("<img src=x"), std::string::npos);
  EXPECT_NE(page.find("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // Exactly one script element: the page's own sort script.
  std::size_t scripts = 0;
  for (auto p = page.find("<script"); p != std::string::npos; p = page.find("<script", p + 1)) ++scripts;
  EXPECT_EQ(scripts, 1u);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace frerec::experiments
