// framework/metrics against sklearn/skimage golden values (tests/golden/metrics) and invariants.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include <unistd.h>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/metrics/metrics.h"
#include "framework/metrics/predictions.h"

namespace fs = std::filesystem;
using namespace frerec;
using namespace frerec::metrics;

namespace {

nlohmann::json load_golden(const std::string& name) {
  const fs::path path = fs::path(FREREC_SOURCE_DIR) / "tests/golden/metrics" / name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing golden file " << path;
  return nlohmann::json::parse(in);
}

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("frerec_metrics_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST(MetricsGolden, MatchesSklearnOnRandomAndTiedScores) {
  const nlohmann::json golden = load_golden("binary_metrics.json");
  ASSERT_GE(golden["cases"].size(), 8u);
  for (const auto& c : golden["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto labels = c["labels"].get<std::vector<int>>();
    const auto scores = c["scores"].get<std::vector<double>>();
    const double threshold = c["threshold"].get<double>();
    const BinaryMetrics m = evaluate_binary(labels, scores, threshold);
    EXPECT_NEAR(m.auc, c["auc"].get<double>(), 1e-12);
    EXPECT_NEAR(m.accuracy, c["accuracy"].get<double>(), 1e-12);
    EXPECT_NEAR(m.f1, c["f1"].get<double>(), 1e-12);
    EXPECT_EQ(m.confusion.tn, c["confusion"]["tn"].get<long>());
    EXPECT_EQ(m.confusion.fp, c["confusion"]["fp"].get<long>());
    EXPECT_EQ(m.confusion.fn, c["confusion"]["fn"].get<long>());
    EXPECT_EQ(m.confusion.tp, c["confusion"]["tp"].get<long>());
    EXPECT_DOUBLE_EQ(m.threshold, threshold);
  }
}

TEST(MetricsGolden, PsnrMatchesSkimage) {
  const nlohmann::json golden = load_golden("psnr.json");
  for (const auto& c : golden["cases"]) {
    const auto shape = c["shape"].get<std::vector<int>>();
    Image a(shape[0], shape[1], shape[2]), b(shape[0], shape[1], shape[2]);
    const auto ra = c["reference"].get<std::vector<double>>();
    const auto rb = c["test"].get<std::vector<double>>();
    ASSERT_EQ(ra.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      a.data[i] = static_cast<float>(ra[i]);
      b.data[i] = static_cast<float>(rb[i]);
    }
    EXPECT_NEAR(psnr(a, b), c["psnr"].get<double>(), 1e-9);
  }
}

TEST(Metrics, AucTiesCountHalf) {
  // One positive tied with one negative, one positive above: (1 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(roc_auc({0, 1, 1}, {0.4, 0.4, 0.9}), 0.75);
  EXPECT_DOUBLE_EQ(roc_auc({0, 1}, {0.7, 0.7}), 0.5);
}

TEST(Metrics, AucInvariantToPermutationAndMonotoneTransform) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  std::vector<int> labels(64);
  std::vector<double> scores(64);
  for (int i = 0; i < 64; ++i) {
    labels[i] = i % 3 == 0 ? 1 : 0;
    scores[i] = normal(rng) + labels[i];
  }
  const double auc = roc_auc(labels, scores);
  std::vector<std::size_t> perm(64);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int> pl(64);
  std::vector<double> ps(64), transformed(64);
  for (int i = 0; i < 64; ++i) {
    pl[i] = labels[perm[i]];
    ps[i] = scores[perm[i]];
    transformed[i] = std::exp(3.0 * scores[i]);
  }
  EXPECT_DOUBLE_EQ(roc_auc(pl, ps), auc);
  EXPECT_DOUBLE_EQ(roc_auc(labels, transformed), auc);
  // Flipping the scores gives 1 - AUC.
  std::vector<double> negated(64);
  std::transform(scores.begin(), scores.end(), negated.begin(), [](double s) { return -s; });
  EXPECT_NEAR(roc_auc(labels, negated), 1.0 - auc, 1e-12);
}

TEST(Metrics, BadInputsThrowRunError) {
  EXPECT_THROW(roc_auc({1, 1, 1}, {0.1, 0.2, 0.3}), RunError);      // single class
  EXPECT_THROW(roc_auc({0, 2}, {0.1, 0.2}), RunError);              // non-binary label
  EXPECT_THROW(roc_auc({0, 1}, {0.1}), RunError);                   // size mismatch
  EXPECT_THROW(roc_auc({}, {}), RunError);                          // empty
  EXPECT_THROW(roc_auc({0, 1}, {0.1, std::nan("")}), RunError);     // NaN score
  EXPECT_THROW(confusion_matrix({0, 1}, {0.1, 0.2}, std::nan("")), RunError);
  try {
    roc_auc({1, 1}, {0.1, 0.2});
    FAIL() << "expected RunError";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("single class"), std::string::npos) << e.what();
  }
}

TEST(Metrics, ThresholdIsInclusive) {
  const ConfusionMatrix cm = confusion_matrix({1, 0}, {0.5, 0.4999});
  EXPECT_EQ(cm.tp, 1);
  EXPECT_EQ(cm.tn, 1);
}

TEST(Metrics, PercentileIsLinearInterpolation) {
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 25.0), 1.75);  // numpy.percentile([1,2,3,4], 25)
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 100.0), 4.0);
  EXPECT_DOUBLE_EQ(percentile({5}, 40.0), 5.0);
}

TEST(Metrics, BootstrapIsSeededAndBracketsTheEstimate) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::vector<int> labels(300);
  std::vector<double> scores(300);
  for (int i = 0; i < 300; ++i) {
    labels[i] = i % 2;
    scores[i] = 1.0 / (1.0 + std::exp(-(normal(rng) + 1.2 * labels[i] - 0.6)));
  }
  const BinaryMetrics point = evaluate_binary(labels, scores);
  BootstrapOptions options;
  options.resamples = 400;
  options.seed = 3;
  const BinaryMetricsCI a = bootstrap_ci(labels, scores, options);
  const BinaryMetricsCI b = bootstrap_ci(labels, scores, options);
  EXPECT_EQ(a.auc.low, b.auc.low);
  EXPECT_EQ(a.f1.high, b.f1.high);
  EXPECT_EQ(a.auc.used, 400);
  EXPECT_EQ(a.auc.skipped, 0);
  for (const auto& [interval, value] : {std::pair{a.auc, point.auc}, std::pair{a.accuracy, point.accuracy},
                                        std::pair{a.f1, point.f1}}) {
    EXPECT_LT(interval.low, value);
    EXPECT_GT(interval.high, value);
    EXPECT_LT(interval.high - interval.low, 0.25);  // n = 300: a few hundredths wide
  }
  options.seed = 4;
  const BinaryMetricsCI c = bootstrap_ci(labels, scores, options);
  EXPECT_NE(a.auc.low, c.auc.low);
}

TEST(Metrics, BootstrapSkipsSingleClassResamplesForAuc) {
  BootstrapOptions options;
  options.resamples = 200;
  const BinaryMetricsCI ci = bootstrap_ci({0, 0, 1}, {0.1, 0.2, 0.9}, options);
  EXPECT_GT(ci.auc.skipped, 0);  // P(no positive drawn) = (2/3)^3 ≈ 0.3
  EXPECT_EQ(ci.auc.used + ci.auc.skipped, 200);
  EXPECT_EQ(ci.accuracy.used, 200);
}

TEST(Metrics, BootstrapRejectsBadOptions) {
  BootstrapOptions options;
  options.resamples = 0;
  EXPECT_THROW(bootstrap_ci({0, 1}, {0.1, 0.9}, options), ConfigError);
  options.resamples = 10;
  options.confidence = 1.0;
  EXPECT_THROW(bootstrap_ci({0, 1}, {0.1, 0.9}, options), ConfigError);
}

TEST(Metrics, PsnrEdgeCases) {
  Image a(1, 4, 4, 0.25f), b(1, 4, 4, 0.25f), c(1, 4, 5, 0.25f);
  EXPECT_TRUE(std::isinf(psnr(a, b)));
  b.data[0] = 0.35f;  // MSE = 0.01/16
  const double d = static_cast<double>(0.35f) - static_cast<double>(0.25f);
  EXPECT_NEAR(psnr(a, b), 10.0 * std::log10(16.0 / (d * d)), 1e-9);
  EXPECT_THROW(psnr(a, c), RunError);
  EXPECT_THROW(psnr(a, b, 0.0), ConfigError);
}

TEST(Predictions, CsvRoundTripWithQuotedIds) {
  const fs::path dir = scratch_dir("roundtrip");
  PredictionTable table;
  table.ids = {"img_001.png", "with,comma", "with \"quote\""};
  table.labels = {0, 1, 1};
  table.scores = {0.125f, 0.987654321f, 1e-7f};
  write_predictions_csv(dir / "predictions.csv", table);
  const std::string text = read_file(dir / "predictions.csv");
  EXPECT_EQ(text.substr(0, 15), "id,label,score\n");
  const PredictionTable back = read_predictions_csv(dir / "predictions.csv");
  EXPECT_EQ(back.ids, table.ids);
  EXPECT_EQ(back.labels, table.labels);
  ASSERT_EQ(back.scores.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(static_cast<float>(back.scores[i]), static_cast<float>(table.scores[i]));
  // No temporary files left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
  fs::remove_all(dir);
}

TEST(Predictions, BadInputsThrow) {
  const fs::path dir = scratch_dir("bad");
  PredictionTable table;
  table.ids = {"a", "b"};
  table.labels = {0};
  table.scores = {0.1, 0.2};
  EXPECT_THROW(write_predictions_csv(dir / "p.csv", table), RunError);
  write_file_atomic(dir / "noheader.csv", "a,0,0.1\n");
  EXPECT_THROW(read_predictions_csv(dir / "noheader.csv"), RunError);
  write_file_atomic(dir / "badscore.csv", "id,label,score\na,0,zero\n");
  EXPECT_THROW(read_predictions_csv(dir / "badscore.csv"), RunError);
  write_file_atomic(dir / "fields.csv", "id,label,score\na,0\n");
  EXPECT_THROW(read_predictions_csv(dir / "fields.csv"), RunError);
  EXPECT_THROW(read_predictions_csv(dir / "missing.csv"), RunError);
  fs::remove_all(dir);
}

// The trainer chooses its validation metric by name through the registry, which `frerec info
// metrics` lists; an unknown name is a config error naming the known ones.
TEST(BinaryMetrics, ChosenByNameThroughTheRegistry) {
  PredictionTable table;
  table.ids = {"a", "b", "c", "d", "e"};
  table.labels = {0, 0, 1, 1, 1};
  table.scores = {0.1, 0.7, 0.6, 0.8, 0.3};
  EXPECT_DOUBLE_EQ(binary_metric("auc", table), roc_auc(table.labels, table.scores));
  const ConfusionMatrix cm = confusion_matrix(table.labels, table.scores);
  EXPECT_DOUBLE_EQ(binary_metric("accuracy", table), accuracy(cm));
  EXPECT_DOUBLE_EQ(binary_metric("f1", table), f1_positive(cm));
  for (const char* name : {"auc", "accuracy", "f1"}) EXPECT_TRUE(binary_metric_registry().contains(name)) << name;
  try {
    binary_metric("auroc", table);
    FAIL() << "an unknown metric was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("auc"), std::string::npos) << e.what();
  }
}
