// Fréchet distance and precision/recall against pytorch-fid's formula (scipy sqrtm), an SVD
// route and brute-force numpy (tests/golden/analysis/make_golden.py), plus invariants.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "framework/analysis/analysis.h"
#include "framework/core/error.h"
#include "tests/analysis/golden.h"

using namespace frerec;
using namespace frerec::analysis;
using namespace frerec::analysis::testing;

TEST(AnalysisFeatures, GeneratorsMatchPythonTwins) {
  for (const auto& c : golden().at("features")) {
    const Matrix m = make(c.at("spec"));
    double sum = 0.0;
    for (double v : m.data) sum += v;
    EXPECT_DOUBLE_EQ(m.data.front(), c.at("first").get<double>());
    EXPECT_DOUBLE_EQ(m.data.back(), c.at("last").get<double>());
    EXPECT_TRUE(near_relative(sum, c.at("sum").get<double>(), 1e-12, 1e-12));
  }
}

TEST(FrechetDistance, MatchesPytorchFidFormula) {
  for (const auto& c : golden().at("frechet")) {
    const Matrix a = make(c.at("a"));
    const Matrix b = make(c.at("b"));
    const double fid = frechet_distance(a, b);
    SCOPED_TRACE("d=" + std::to_string(a.cols) + " na=" + std::to_string(a.rows) + " nb=" + std::to_string(b.rows));
    // scipy's sqrtm of the singular product (na < d) is itself only good to ~1e-7.
    EXPECT_TRUE(near_relative(fid, c.at("fid").get<double>(), 1e-6));
    EXPECT_TRUE(near_relative(fid, c.at("fid_nuclear").get<double>(), 1e-9));
  }
}

TEST(FrechetDistance, SymmetricAndZeroForIdenticalSets) {
  const Matrix a = correlated(101, 80, 12, 0.0, 1.0, 0.4);
  const Matrix b = correlated(102, 50, 12, 0.5, 2.0, 0.1);
  EXPECT_TRUE(near_relative(frechet_distance(a, b), frechet_distance(b, a), 1e-12));
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-9);
  // Gram route (fewer rows than features) for identical sets as well.
  const Matrix wide = correlated(103, 20, 40, 0.0, 1.0, 0.3);
  EXPECT_NEAR(frechet_distance(wide, wide), 0.0, 1e-9);
  EXPECT_GE(frechet_distance(wide, wide), 0.0);
}

TEST(FrechetDistance, MeanShiftOnlyAddsSquaredNorm) {
  const Matrix a = correlated(104, 200, 6, 0.0, 1.0, 0.2);
  Matrix b = a;
  for (std::size_t i = 0; i < b.rows; ++i)
    for (std::size_t j = 0; j < b.cols; ++j) b(i, j) += 0.5 * static_cast<double>(j);
  double expected = 0.0;
  for (std::size_t j = 0; j < b.cols; ++j) expected += 0.25 * static_cast<double>(j * j);
  EXPECT_TRUE(near_relative(frechet_distance(a, b), expected, 1e-9));
}

TEST(FrechetDistance, RejectsBadInput) {
  const Matrix a = correlated(105, 10, 4);
  EXPECT_THROW(frechet_distance(a, correlated(106, 10, 5)), ConfigError);
  EXPECT_THROW(frechet_distance(a, Matrix()), ConfigError);
  EXPECT_THROW(frechet_distance(a, correlated(106, 1, 4)), ConfigError);  // covariance needs 2 rows
  Matrix nan = a;
  nan(3, 2) = std::numeric_limits<double>::quiet_NaN();
  try {
    frechet_distance(a, nan);
    FAIL() << "NaN accepted";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("row 3, column 2"), std::string::npos) << e.what();
  }
  Matrix inconsistent(3, 4);
  inconsistent.data.pop_back();
  EXPECT_THROW(frechet_distance(inconsistent, a), ConfigError);
  // Squares overflow: not finite even after the 1e-6·I fallback.
  Matrix huge = a;
  for (double& v : huge.data) v *= 1e200;
  EXPECT_THROW(frechet_distance(huge, a), RunError);
}

TEST(PrecisionRecall, MatchesBruteForce) {
  for (const auto& c : golden().at("precision_recall")) {
    const PrecisionRecall pr = precision_recall(make(c.at("real")), make(c.at("generated")), c.at("k").get<int>());
    EXPECT_DOUBLE_EQ(pr.precision, c.at("precision").get<double>());
    EXPECT_DOUBLE_EQ(pr.recall, c.at("recall").get<double>());
  }
}

TEST(PrecisionRecall, IdenticalSetsAndDuplicates) {
  const Matrix a = correlated(111, 120, 10);
  const PrecisionRecall same = precision_recall(a, a, 3);
  EXPECT_EQ(same.precision, 1.0);
  EXPECT_EQ(same.recall, 1.0);
  // Every real point duplicated k times: radii are 0, so only exact copies are inside.
  Matrix real = vstack(vstack(a, a), a);
  Matrix generated = correlated(112, 50, 10);
  for (std::size_t j = 0; j < generated.cols; ++j) generated(0, j) = a(7, j);
  const PrecisionRecall pr = precision_recall(real, generated, 2);
  EXPECT_DOUBLE_EQ(pr.precision, 1.0 / 50.0);
  // Large offsets stress the Gram route's cancellation: same answer after a common shift.
  Matrix shifted_real = correlated(113, 150, 16);
  Matrix shifted_generated = correlated(114, 140, 16, 0.2, 1.1);
  const PrecisionRecall base = precision_recall(shifted_real, shifted_generated, 3);
  for (double& v : shifted_real.data) v += 1e4;
  for (double& v : shifted_generated.data) v += 1e4;
  const PrecisionRecall moved = precision_recall(shifted_real, shifted_generated, 3);
  EXPECT_NEAR(moved.precision, base.precision, 1.5 / 140.0);  // at most one decision may flip at 1e-12
  EXPECT_NEAR(moved.recall, base.recall, 1.5 / 150.0);
}

TEST(PrecisionRecall, RejectsBadInput) {
  const Matrix a = correlated(115, 20, 4);
  EXPECT_THROW(precision_recall(a, correlated(116, 3, 4), 3), ConfigError);  // ≤ k rows
  EXPECT_THROW(precision_recall(correlated(116, 3, 4), a, 3), ConfigError);
  EXPECT_THROW(precision_recall(a, correlated(116, 20, 5), 3), ConfigError);
  EXPECT_THROW(precision_recall(a, a, 0), ConfigError);
  Matrix nan = a;
  nan(0, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(precision_recall(a, nan, 3), RunError);
}
