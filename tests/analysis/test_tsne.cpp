// Exact t-SNE against sklearn 1.2 (tests/golden/analysis/make_golden.py): joint probabilities,
// KL after optimisation, trustworthiness; a finite-difference check of the gradient; determinism
// across runs and thread counts; errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "framework/analysis/analysis.h"
#include "framework/analysis/tsne_objective.h"
#include "framework/core/error.h"
#include "tests/analysis/golden.h"

using namespace frerec;
using namespace frerec::analysis;
using namespace frerec::analysis::testing;

namespace {

TsneOptions options_from(const nlohmann::json& params) {
  TsneOptions o;
  o.perplexity = params.at("perplexity").get<double>();
  o.iterations = params.at("n_iter").get<int>();
  o.early_exaggeration = params.at("early_exaggeration").get<double>();
  o.learning_rate = params.at("learning_rate").is_string() ? -1.0 : params.at("learning_rate").get<double>();
  return o;
}

Matrix from_rows(const nlohmann::json& rows) {
  Matrix m(rows.size(), rows.at(0).size());
  for (std::size_t i = 0; i < m.rows; ++i)
    for (std::size_t j = 0; j < m.cols; ++j) m(i, j) = rows.at(i).at(j).get<double>();
  return m;
}

}  // namespace

TEST(TsneJointProbabilities, MatchSklearn) {
  for (const auto& c : golden().at("tsne_p")) {
    const Matrix x = make(c.at("x"));
    const auto expected = c.at("p_condensed").get<std::vector<double>>();
    const Matrix p = tsne_joint_probabilities(x, c.at("perplexity").get<double>());
    ASSERT_EQ(expected.size(), x.rows * (x.rows - 1) / 2);
    std::size_t index = 0;
    double total = 0.0;
    for (std::size_t i = 0; i < x.rows; ++i) {
      EXPECT_EQ(p(i, i), 0.0);
      for (std::size_t j = i + 1; j < x.rows; ++j, ++index) {
        EXPECT_TRUE(near_relative(p(i, j), expected[index], 1e-6)) << i << "," << j;
        EXPECT_EQ(p(i, j), p(j, i));
        total += 2.0 * p(i, j);
      }
    }
    EXPECT_NEAR(total, 1.0, 1e-12);
    EXPECT_EQ(tsne_joint_probabilities(x, c.at("perplexity").get<double>(), 2).data, p.data);
  }
}

TEST(Tsne, FirstStepsMatchSklearnGradientDescent) {
  // Both phases (momentum, gains, exaggeration, their reset at the phase change, learning rate
  // incl. 'auto') from the exact-PCA initialisation, before rounding differences grow.
  for (const auto& c : golden().at("tsne_steps")) {
    const Matrix x = make(c.at("x"));
    TsneOptions options;
    options.perplexity = c.at("perplexity").get<double>();
    options.early_exaggeration = c.at("early_exaggeration").get<double>();
    options.learning_rate = c.at("learning_rate").is_string() ? -1.0 : c.at("learning_rate").get<double>();
    options.exaggeration_iterations = c.at("exaggeration_iterations").get<int>();
    options.iterations = c.at("iterations").get<int>();
    const TsneResult result = tsne(x, options);
    const Matrix expected = from_rows(c.at("embedding"));
    double scale = 0.0;
    for (double v : expected.data) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < expected.data.size(); ++i)
      ASSERT_NEAR(result.embedding.data[i], expected.data[i], 1e-9 * scale) << i;
    EXPECT_TRUE(near_relative(result.kl_divergence, c.at("kl_divergence").get<double>(), 1e-9));
    EXPECT_EQ(result.iterations, options.iterations);
  }
}

TEST(Tsne, KlDivergenceAndTrustworthinessCloseToSklearn) {
  // Whole runs agree only statistically: the optimisation amplifies rounding differences
  // (~10x every 3 iterations while exaggerated; FirstStepsMatchSklearnGradientDescent pins the
  // schedule). On the "correlated" case sklearn itself ends at KL 0.716 or 0.766 depending on
  // whether its PCA initialisation is rounded to float32; we get 0.696 vs its 0.750 (−7%).
  for (const auto& c : golden().at("tsne_kl")) {
    const Matrix x = make(c.at("x"));
    const TsneResult result = tsne(x, options_from(c.at("params")));
    const double sk_kl = c.at("kl_divergence").get<double>();
    SCOPED_TRACE(c.at("x").dump());
    EXPECT_TRUE(near_relative(result.kl_divergence, sk_kl, 0.10)) << "sklearn KL " << sk_kl;
    EXPECT_EQ(result.iterations, c.at("n_iter").get<int>() + 1);
    ASSERT_EQ(result.embedding.rows, x.rows);
    ASSERT_EQ(result.embedding.cols, 2u);
    const double trust = trustworthiness(x, result.embedding, 5);
    EXPECT_NEAR(trust, c.at("trustworthiness").get<double>(), 0.02);
    if (c.at("x").at("kind") == "blobs") {
      EXPECT_GE(trust, 0.95);
    }
  }
}

TEST(Trustworthiness, MatchesSklearnOnItsEmbedding) {
  for (const auto& c : golden().at("tsne_kl")) {
    const Matrix x = make(c.at("x"));
    const Matrix embedding = from_rows(c.at("embedding"));
    EXPECT_NEAR(trustworthiness(x, embedding, 5), c.at("trustworthiness").get<double>(), 1e-12);
  }
  const Matrix x = correlated(401, 30, 4);
  EXPECT_DOUBLE_EQ(trustworthiness(x, x, 5), 1.0);  // the identity embedding keeps every neighbour
  EXPECT_THROW(trustworthiness(x, x, 15), ConfigError);  // n_neighbors must be < N/2
  EXPECT_THROW(trustworthiness(x, correlated(402, 29, 2), 5), ConfigError);
}

TEST(TsneObjective, GradientMatchesFiniteDifferences) {
  // dims = 3 (dof = 2) exercises the general kernel; dims = 2 the Cauchy one.
  for (int dims : {2, 3}) {
    const Matrix x = correlated(411, 25, 6, 0.0, 1.0, 0.3);
    const Matrix p_matrix = tsne_joint_probabilities(x, 5.0);
    const std::vector<double> p = p_matrix.data;
    const Matrix start = correlated(412, 25, static_cast<std::size_t>(dims));
    std::vector<std::vector<double>> y(static_cast<std::size_t>(dims), std::vector<double>(25));
    for (std::size_t i = 0; i < 25; ++i)
      for (int k = 0; k < dims; ++k) y[static_cast<std::size_t>(k)][i] = start(i, static_cast<std::size_t>(k));
    detail::TsneObjective objective(p, 25, dims, 1);
    std::vector<std::vector<double>> gradient, scratch;
    objective.evaluate(y, 1.0, true, gradient);
    const double h = 1e-6;
    for (int k = 0; k < dims; ++k) {
      for (std::size_t i : {0u, 7u, 24u}) {
        auto plus = y, minus = y;
        plus[static_cast<std::size_t>(k)][i] += h;
        minus[static_cast<std::size_t>(k)][i] -= h;
        const double numeric =
            (objective.evaluate(plus, 1.0, true, scratch) - objective.evaluate(minus, 1.0, true, scratch)) / (2.0 * h);
        EXPECT_NEAR(gradient[static_cast<std::size_t>(k)][i], numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
            << "dims " << dims << " k " << k << " i " << i;
      }
    }
  }
}

TEST(Tsne, DeterministicAcrossRunsAndThreads) {
  const Matrix x = blobs(421, 120, 8, 3, 1.0);
  TsneOptions options;
  options.iterations = 300;
  options.perplexity = 20.0;
  const TsneResult first = tsne(x, options);
  const TsneResult second = tsne(x, options);
  EXPECT_EQ(first.embedding.data, second.embedding.data);
  EXPECT_EQ(first.kl_divergence, second.kl_divergence);
  options.threads = 2;
  const TsneResult threaded = tsne(x, options);
  EXPECT_EQ(first.embedding.data, threaded.embedding.data);
  EXPECT_EQ(first.kl_divergence, threaded.kl_divergence);
  options.threads = 3;  // uneven split of the row blocks
  EXPECT_EQ(tsne(x, options).embedding.data, first.embedding.data);
}

TEST(Tsne, ProgressEveryFiftyIterationsAndOtherDimensions) {
  const Matrix x = blobs(431, 60, 5, 2, 0.5);
  TsneOptions options;
  options.iterations = 300;
  options.perplexity = 10.0;
  std::vector<int> seen;
  options.progress = [&](int iteration, double kl) {
    seen.push_back(iteration);
    EXPECT_TRUE(std::isfinite(kl));
  };
  const TsneResult result = tsne(x, options);
  ASSERT_FALSE(seen.empty());
  for (std::size_t m = 0; m < seen.size(); ++m) EXPECT_EQ(seen[m], 50 * static_cast<int>(m + 1));
  EXPECT_EQ(seen.back(), result.iterations);
  for (int dims : {1, 3}) {
    options.dims = dims;
    options.progress = nullptr;
    const TsneResult other = tsne(x, options);
    EXPECT_EQ(other.embedding.cols, static_cast<std::size_t>(dims));
    for (double v : other.embedding.data) EXPECT_TRUE(std::isfinite(v));
    EXPECT_GT(trustworthiness(x, other.embedding, 5), 0.85) << dims;
  }
}

TEST(Tsne, WideInputTakesTheGramRouteToTheSamePca) {
  // Zero columns change no principal component: 40 × 30 uses the covariance, 40 × 45 the Gram matrix.
  const Matrix x = correlated(451, 40, 30, 0.0, 1.0, 0.4);
  Matrix padded(40, 45);
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = 0; j < 30; ++j) padded(i, j) = x(i, j);
  TsneOptions options;
  options.perplexity = 10.0;
  options.iterations = 8;
  options.exaggeration_iterations = 4;
  const TsneResult narrow = tsne(x, options);
  const TsneResult wide = tsne(padded, options);
  double scale = 0.0;
  for (double v : narrow.embedding.data) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < narrow.embedding.data.size(); ++i)
    EXPECT_NEAR(wide.embedding.data[i], narrow.embedding.data[i], 1e-8 * scale) << i;
}

TEST(Tsne, IdenticalRowsFallBackToSeededRandomInit) {
  Matrix x(20, 3);
  for (double& v : x.data) v = 0.25;  // PCA has no direction: sklearn would divide by 0
  TsneOptions options;
  options.iterations = 300;
  options.perplexity = 5.0;
  const TsneResult a = tsne(x, options);
  for (double v : a.embedding.data) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(tsne(x, options).embedding.data, a.embedding.data);
  options.seed = 1;
  EXPECT_NE(tsne(x, options).embedding.data, a.embedding.data);
}

TEST(Tsne, RejectsBadInput) {
  const Matrix x = correlated(441, 40, 4);
  TsneOptions options;
  options.perplexity = 10.0;
  options.max_points = 39;
  try {
    tsne(x, options);
    FAIL() << "40 points accepted with max_points=39";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("max_points=39"), std::string::npos) << e.what();
  }
  const auto rejects = [&](auto&& change) {
    TsneOptions o;
    o.perplexity = 10.0;
    change(o);
    EXPECT_THROW(tsne(x, o), ConfigError);
  };
  rejects([](TsneOptions& o) { o.perplexity = 40.0; });
  rejects([](TsneOptions& o) { o.perplexity = 0.0; });
  rejects([](TsneOptions& o) { o.dims = 0; });
  rejects([](TsneOptions& o) { o.dims = 5; });
  rejects([](TsneOptions& o) { o.iterations = 0; });
  rejects([](TsneOptions& o) { o.exaggeration_iterations = 2000; });
  rejects([](TsneOptions& o) { o.early_exaggeration = 0.5; });
  rejects([](TsneOptions& o) { o.learning_rate = 0.0; });
  rejects([](TsneOptions& o) { o.threads = 0; });
  options = TsneOptions{};
  options.perplexity = 10.0;
  EXPECT_THROW(tsne(Matrix(), options), ConfigError);
  EXPECT_THROW(tsne(correlated(442, 1, 4), options), ConfigError);
  Matrix nan = x;
  nan(10, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(tsne(nan, options), RunError);
  EXPECT_THROW(tsne_joint_probabilities(x, 40.0), ConfigError);
}
