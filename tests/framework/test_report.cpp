// Tables against golden renderings, paired tests against SciPy, figure files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "framework/core/atomic_file.h"
#include "framework/report/figure.h"
#include "framework/report/stats.h"
#include "framework/report/table.h"
#include "tests/framework/test_util.h"

namespace frerec::report {
namespace {

const std::string kGolden = std::string(FREREC_SOURCE_DIR) + "/tests/golden/framework/";

Table sample_table() {
  Table t;
  t.caption = "Sample: AUC by method";
  t.columns = {"Method", "AUC", "Acc"};
  t.rows.push_back({"mri / resnet18", {TableCell::label("raw"), TableCell::mean_std({0.80, 0.82, 0.81}),
                                        TableCell::mean_std({0.70, 0.72})}});
  t.rows.push_back({"mri / resnet18", {TableCell::label("gda"), TableCell::mean_std({0.85, 0.86, 0.84}),
                                        TableCell::mean_std({0.74, 0.70})}});
  t.rows.push_back({"mri / resnet18", {TableCell::label("gda_frerec"), TableCell::mean_std({0.90, 0.88, 0.89}),
                                        TableCell::mean_std({0.71, 0.71})}});
  t.rows.push_back({"cxr / resnet18", {TableCell::label("raw"), TableCell::number(0.7), TableCell::label("–")}});
  t.rows.push_back({"cxr / resnet18", {TableCell::label("gda_frerec"), TableCell::number(0.6), TableCell::label("–")}});
  t.mark_best_all(1, 2);
  t.notes.push_back("Bold: best; underlined: second.");
  return t;
}

TEST(Table, MarksBestAndSecondWithinGroups) {
  const Table t = sample_table();
  EXPECT_TRUE(t.rows[2].cells[1].bold);
  EXPECT_TRUE(t.rows[1].cells[1].underline);
  EXPECT_FALSE(t.rows[0].cells[1].bold || t.rows[0].cells[1].underline);
  EXPECT_TRUE(t.rows[1].cells[2].bold);       // 0.720 mean
  EXPECT_TRUE(t.rows[0].cells[2].underline);  // 0.710: second, shared with gda_frerec
  EXPECT_TRUE(t.rows[2].cells[2].underline);
  EXPECT_TRUE(t.rows[3].cells[1].bold);       // another group
  EXPECT_TRUE(t.rows[4].cells[1].underline);
}

// FREREC_UPDATE_GOLDEN=1 rewrites the golden renderings (review the diff before committing).
TEST(Table, RendersLikeTheGoldenFiles) {
  const Table t = sample_table();
  if (std::getenv("FREREC_UPDATE_GOLDEN")) {
    write_file_atomic(kGolden + "table.md", render_markdown(t));
    write_file_atomic(kGolden + "table.csv", render_csv(t));
    write_file_atomic(kGolden + "table.tex", render_latex(t));
  }
  EXPECT_EQ(render_markdown(t), read_file(kGolden + "table.md"));
  EXPECT_EQ(render_csv(t), read_file(kGolden + "table.csv"));
  EXPECT_EQ(render_latex(t), read_file(kGolden + "table.tex"));
  testing::TempDir dir;
  save_table(t, dir / "t");
  for (const char* ext : {".md", ".csv", ".tex"}) EXPECT_TRUE(std::filesystem::exists(dir.path() / (std::string("t") + ext)));
}

TEST(Stats, PairedTestsMatchScipy) {
  const auto golden = nlohmann::json::parse(read_file(kGolden + "stats_golden.json"));
  int checked = 0;
  // Defaults of Debian's SciPy, zeros and ties included (null = NaN where SciPy raises).
  auto expect = [](double ours, const nlohmann::json& theirs, const std::string& what) {
    if (theirs.is_null())
      EXPECT_TRUE(std::isnan(ours)) << what << ": " << ours;
    else
      EXPECT_NEAR(ours, theirs.get<double>(), 1e-9 * std::max(1.0, std::fabs(theirs.get<double>()))) << what;
  };
  for (const auto& c : golden["cases"]) {
    const auto a = c["a"].get<std::vector<double>>();
    const auto b = c["b"].get<std::vector<double>>();
    expect(wilcoxon_signed_rank_p(a, b), c["wilcoxon"], "wilcoxon " + c["name"].get<std::string>());
    expect(paired_t_test_p(a, b), c["ttest"], "ttest " + c["name"].get<std::string>());
    ++checked;
  }
  EXPECT_GE(checked, 25);
  // Bootstrap intervals of the mean against the Python reimplementation (same draws).
  for (const auto& c : golden["bootstrap"]) {
    const auto [low, high] = bootstrap_mean_ci(c["values"].get<std::vector<double>>(), c["level"].get<double>(), 10000,
                                               c["seed"].get<std::uint64_t>());
    EXPECT_NEAR(low, c["low"].get<double>(), 1e-12) << c.dump();
    EXPECT_NEAR(high, c["high"].get<double>(), 1e-12) << c.dump();
    EXPECT_LE(low, high);
  }
  EXPECT_TRUE(std::isnan(bootstrap_mean_ci({}).first));
  // Ratio of paired resampled sums (the positive control's recovery fraction).
  int ratios = 0;
  for (const auto& c : golden["bootstrap_ratio"]) {
    const auto [low, high] =
        bootstrap_ratio_ci(c["numerator"].get<std::vector<double>>(), c["denominator"].get<std::vector<double>>(),
                           c["level"].get<double>(), 10000, c["seed"].get<std::uint64_t>());
    EXPECT_NEAR(low, c["low"].get<double>(), 1e-12) << c.dump();
    EXPECT_NEAR(high, c["high"].get<double>(), 1e-12) << c.dump();
    ++ratios;
  }
  EXPECT_EQ(ratios, 3);
  EXPECT_TRUE(std::isnan(bootstrap_ratio_ci({0.1}, {0.1, 0.2}).first));
  EXPECT_TRUE(std::isnan(bootstrap_ratio_ci({0.0, 0.0}, {0.0, 0.0}).first));
  EXPECT_NEAR(incomplete_beta(2.0, 3.0, 0.4), 0.5248, 1e-12);
}

TEST(Figure, WritesPngAndSvgOfTheExpectedSize) {
  testing::TempDir dir;
  Figure fig;
  fig.title = "Test figure";
  Heatmap h;
  h.title = "heat";
  h.rows = 8;
  h.cols = 8;
  for (int i = 0; i < 64; ++i) h.values.push_back(std::sin(i * 0.3));
  h.colorbar_label = "value";
  LinePlot l;
  l.title = "lines";
  l.x_label = "radius";
  l.y_label = "power";
  l.series.push_back({"real", {0, 1, 2, 3}, {1, 2, 1.5, 3}, std::nullopt, false});
  l.series.push_back({"synthetic", {0, 1, 2, 3}, {1.2, 1.8, 1.7, 2.5}, std::nullopt, true});
  ScatterPlot s;
  s.title = "scatter";
  s.series.push_back({"real", {0, 1, 2}, {0, 1, 0}, Rgb{1.0, 0.5, 0.0}, 3.0});
  s.series.push_back({"synthetic", {0.5, 1.5}, {1, 0}, Rgb{0.1, 0.3, 0.9}, 3.0});
  fig.panels = {h, l, s};
  fig.columns = 3;
  const auto [w, ht] = save_figure(fig, dir / "fig");
  EXPECT_EQ(w, 3 * 360);
  EXPECT_EQ(ht, 300 + 28);
  // PNG signature and IHDR size.
  const std::string png = read_file(dir / "fig.png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  auto be32 = [&](std::size_t o) {
    return (static_cast<unsigned char>(png[o]) << 24) | (static_cast<unsigned char>(png[o + 1]) << 16) |
           (static_cast<unsigned char>(png[o + 2]) << 8) | static_cast<unsigned char>(png[o + 3]);
  };
  EXPECT_EQ(be32(16), 3 * 360);
  EXPECT_EQ(be32(20), 328);
  const std::string svg = read_file(dir / "fig.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("width=\"1080"), std::string::npos);
}

// A base-2 x axis (step budgets that double) and dots at the measured points change the
// picture, and a non-positive x on a log axis is left out rather than drawn at -inf.
TEST(Figure, LogXAxisAndMarkersChangeThePlot) {
  testing::TempDir dir;
  auto render = [&](bool log_x, bool markers, const std::string& name, std::vector<double> ticks = {}) {
    Figure fig;
    LinePlot l;
    l.title = "learning curve";
    l.log_x = log_x;
    l.x_ticks = ticks;
    LineSeries series;
    series.label = "raw";
    series.x = {0, 125, 250, 500, 1000, 2000};
    series.y = {0.5, 0.6, 0.75, 0.85, 0.88, 0.885};
    series.spread = {0, 0.02, 0.02, 0.01, 0.01, 0.01};
    series.markers = markers;
    l.series.push_back(series);
    fig.panels = {l};
    save_figure(fig, dir / name);
    return read_file(dir / (name + ".png"));
  };
  const std::string linear = render(false, false, "linear"), log2 = render(true, false, "log"),
                    dots = render(true, true, "dots");
  ASSERT_GT(log2.size(), 1000u);
  EXPECT_NE(linear, log2);
  EXPECT_NE(log2, dots);
  EXPECT_EQ(log2, render(true, false, "log_again"));
  // Ticks at the measured budgets instead of the powers of two; one out of range is dropped.
  const std::string budgets = render(true, false, "budgets", {125, 250, 500, 1000, 2000});
  EXPECT_NE(budgets, log2);
  EXPECT_EQ(budgets, render(true, false, "budgets_again", {125, 250, 500, 1000, 2000, 1e9}));
}

}  // namespace
}  // namespace frerec::report
