// Logistic regression and the real-vs-synthetic probe against sklearn (newton-cholesky,
// cross_val_score with a PredefinedSplit; tests/golden/analysis/make_golden.py), plus
// stratification and noise-bound properties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/analysis/analysis.h"
#include "framework/core/error.h"
#include "tests/analysis/golden.h"

using namespace frerec;
using namespace frerec::analysis;
using namespace frerec::analysis::testing;

TEST(FitLogistic, MatchesSklearn) {
  for (const auto& c : golden().at("logistic")) {
    const Matrix x = make(c.at("x"));
    const auto y = c.at("y").get<std::vector<int>>();
    const auto expected = c.at("weights").get<std::vector<double>>();
    SCOPED_TRACE("n=" + std::to_string(x.rows) + " d=" + std::to_string(x.cols));
    const LogisticModel model = fit_logistic(x, y, c.at("c").get<double>());
    ASSERT_EQ(model.weights.size(), expected.size());
    double scale = std::abs(c.at("intercept").get<double>());
    for (double w : expected) scale = std::max(scale, std::abs(w));
    for (std::size_t j = 0; j < expected.size(); ++j) EXPECT_NEAR(model.weights[j], expected[j], 1e-7 * scale) << j;
    EXPECT_NEAR(model.intercept, c.at("intercept").get<double>(), 1e-7 * scale);
    EXPECT_GE(model.iterations, 1);
    EXPECT_LE(model.iterations, 30);
  }
}

TEST(FitLogistic, InterceptIsNotPenalised) {
  // One constant feature, 3:1 class ratio: with the intercept free, the fitted probability is
  // the class frequency however strong the penalty on w (a penalised intercept would pull it to 0.5).
  Matrix x(400, 1);
  std::vector<int> y(400);
  for (std::size_t i = 0; i < 400; ++i) y[i] = i % 4 != 0;
  const LogisticModel model = fit_logistic(x, y, 1e-3);
  EXPECT_NEAR(model.intercept, std::log(3.0), 1e-9);
  EXPECT_NEAR(model.weights[0], 0.0, 1e-12);
  const std::vector<double> z = decision_function(model, x);
  EXPECT_NEAR(z[0], std::log(3.0), 1e-9);
}

TEST(FitLogistic, RejectsBadInput) {
  const Matrix x = correlated(201, 10, 3);
  std::vector<int> y = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  EXPECT_THROW(fit_logistic(x, {0, 1, 0}, 1.0), ConfigError);
  EXPECT_THROW(fit_logistic(x, std::vector<int>(10, 1), 1.0), ConfigError);
  std::vector<int> bad = y;
  bad[4] = 2;
  EXPECT_THROW(fit_logistic(x, bad, 1.0), ConfigError);
  EXPECT_THROW(fit_logistic(x, y, 0.0), ConfigError);
  EXPECT_THROW(fit_logistic(x, y, std::numeric_limits<double>::infinity()), ConfigError);
  EXPECT_THROW(fit_logistic(x, y, 1.0, 0), ConfigError);
  EXPECT_THROW(fit_logistic(Matrix(), {}, 1.0), ConfigError);
  Matrix nan = x;
  nan(2, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(fit_logistic(nan, y, 1.0), RunError);
}

TEST(LogisticProbe, MatchesSklearnCrossValScore) {
  const auto& c = golden().at("probe");
  ProbeOptions options;
  options.folds = c.at("folds").get<int>();
  options.c = c.at("c").get<double>();
  const ProbeResult result =
      logistic_probe_with_folds(make(c.at("a")), make(c.at("b")), c.at("fold_of_row").get<std::vector<int>>(), options);
  const auto expected = c.at("fold_auc").get<std::vector<double>>();
  ASSERT_EQ(result.fold_auc.size(), expected.size());
  for (std::size_t f = 0; f < expected.size(); ++f) EXPECT_NEAR(result.fold_auc[f], expected[f], 1e-12) << f;
  EXPECT_NEAR(result.auc, c.at("auc").get<double>(), 1e-12);
  EXPECT_NEAR(result.auc_std, c.at("auc_std").get<double>(), 1e-12);
}

TEST(LogisticProbe, StratifiedFoldsAreBalancedAndSeeded) {
  std::vector<int> labels(53, 0);
  labels.resize(53 + 31, 1);
  const std::vector<int> folds = stratified_folds(labels, 5, 7);
  EXPECT_EQ(folds, stratified_folds(labels, 5, 7));
  EXPECT_NE(folds, stratified_folds(labels, 5, 8));
  for (int label : {0, 1}) {
    std::vector<int> count(5, 0);
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == label) ++count[static_cast<std::size_t>(folds[i])];
    const auto [low, high] = std::minmax_element(count.begin(), count.end());
    EXPECT_LE(*high - *low, 1) << "class " << label;
  }
  EXPECT_THROW(stratified_folds({0, 0, 0, 1, 1}, 3, 0), ConfigError);  // class 1 has 2 < 3 rows
  EXPECT_THROW(stratified_folds(labels, 1, 0), ConfigError);
}

TEST(LogisticProbe, IdenticalDistributionsGiveChanceAndSeparatedGiveOne) {
  // Same generator, different seeds: AUC is 0.5 up to sampling noise. With n = 150 per class
  // and 5 folds (30 + 30 test rows), one fold's AUC has std ≈ 0.075, the mean over 5 folds
  // ≈ 0.034 (plus overfitting noise of 16 features); 4 std ≈ 0.14.
  for (std::uint64_t seed : {301u, 311u, 321u}) {
    ProbeOptions options;
    options.seed = seed;
    const ProbeResult same = logistic_probe(correlated(seed, 150, 16, 0.0, 1.0, 0.3),
                                            correlated(seed + 5, 150, 16, 0.0, 1.0, 0.3), options);
    EXPECT_NEAR(same.auc, 0.5, 0.14) << seed;
    EXPECT_EQ(same.fold_auc.size(), 5u);
  }
  ProbeOptions options;
  const ProbeResult separated =
      logistic_probe(correlated(331, 100, 16), correlated(332, 100, 16, 3.0, 1.0), options);
  EXPECT_GT(separated.auc, 0.999);
  EXPECT_LT(separated.auc_std, 0.01);
  // Deterministic for a seed; standardisation off still works on well-scaled data.
  options.standardize = false;
  const ProbeResult raw = logistic_probe(correlated(331, 100, 16), correlated(332, 100, 16, 3.0, 1.0), options);
  EXPECT_GT(raw.auc, 0.999);
}

TEST(LogisticProbe, ConstantFeatureIsHarmless) {
  Matrix a = correlated(341, 40, 4);
  Matrix b = correlated(342, 40, 4, 1.5);
  for (std::size_t i = 0; i < 40; ++i) a(i, 2) = b(i, 2) = 0.1;  // zero variance: scale 1, like StandardScaler
  const ProbeResult result = logistic_probe(a, b, ProbeOptions{});
  EXPECT_TRUE(std::isfinite(result.auc));
  EXPECT_GT(result.auc, 0.8);
}

TEST(LogisticProbe, RejectsBadInput) {
  const Matrix a = correlated(351, 20, 4);
  EXPECT_THROW(logistic_probe(a, correlated(352, 4, 4), ProbeOptions{}), ConfigError);  // 4 rows < 5 folds
  EXPECT_THROW(logistic_probe(a, correlated(352, 20, 3), ProbeOptions{}), ConfigError);
  EXPECT_THROW(logistic_probe(a, Matrix(), ProbeOptions{}), ConfigError);
  ProbeOptions options;
  options.folds = 1;
  EXPECT_THROW(logistic_probe(a, a, options), ConfigError);
  options = ProbeOptions{};
  options.c = -1.0;
  EXPECT_THROW(logistic_probe(a, a, options), ConfigError);
  Matrix nan = a;
  nan(5, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(logistic_probe(a, nan, ProbeOptions{}), RunError);
  // Explicit folds: wrong length, out of range, a fold with a single class.
  const Matrix b = correlated(353, 20, 4, 1.0);
  std::vector<int> folds(40);
  for (std::size_t i = 0; i < 40; ++i) folds[i] = static_cast<int>(i % 5);
  EXPECT_NO_THROW(logistic_probe_with_folds(a, b, folds, ProbeOptions{}));
  EXPECT_THROW(logistic_probe_with_folds(a, b, std::vector<int>(39, 0), ProbeOptions{}), ConfigError);
  std::vector<int> out_of_range = folds;
  out_of_range[3] = 5;
  EXPECT_THROW(logistic_probe_with_folds(a, b, out_of_range, ProbeOptions{}), ConfigError);
  std::vector<int> single_class = folds;
  for (std::size_t i = 0; i < 20; ++i)
    if (single_class[i] == 0) single_class[i] = 1;  // fold 0 holds no real row
  EXPECT_THROW(logistic_probe_with_folds(a, b, single_class, ProbeOptions{}), ConfigError);
}
