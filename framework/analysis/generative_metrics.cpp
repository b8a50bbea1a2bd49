// Fréchet distance and Kynkäänniemi precision/recall between two feature sets
// (framework/analysis/analysis.h; REFERENCE.md "Generative-model metrics").
#include <Eigen/Eigenvalues>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "framework/analysis/analysis.h"
#include "framework/analysis/eigen_view.h"
#include "framework/core/error.h"

namespace frerec::analysis {
namespace {

using detail::squared_distance;
using detail::view;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kFidOffset = 1e-6;  // pytorch-fid's fallback when the square root is not finite

void require_same_columns(const Matrix& a, const Matrix& b, const char* function, const char* name_a,
                          const char* name_b) {
  if (a.cols != b.cols) {
    throw ConfigError(fmt::format("{}: {} has {} features but {} has {}; both sets must come from the same feature "
                                  "extractor",
                                  function, name_a, a.cols, name_b, b.cols));
  }
}

// (X − μ) / sqrt(n − 1): its Gram AᵀA is the N − 1 covariance.
struct CentredData {
  Eigen::MatrixXd scaled;
  Eigen::VectorXd mean;
};

CentredData centre(const Matrix& x) {
  const auto v = view(x);
  CentredData c;
  c.mean = v.colwise().mean().transpose();
  c.scaled = (v.rowwise() - c.mean.transpose()) / std::sqrt(static_cast<double>(x.rows - 1));
  return c;
}

// Σ sqrt(max(λ, 0)) over the eigenvalues λ of a symmetric PSD matrix (lower triangle read);
// NaN when the matrix or its eigenvalues are not finite.
double trace_sqrt_psd(const Eigen::MatrixXd& m) {
  if (!m.allFinite()) return kNaN;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(m, Eigen::EigenvaluesOnly);
  if (solver.info() != Eigen::Success || !solver.eigenvalues().allFinite()) return kNaN;
  double sum = 0.0;
  for (Eigen::Index i = 0; i < solver.eigenvalues().size(); ++i) sum += std::sqrt(std::max(solver.eigenvalues()[i], 0.0));
  return sum;
}

Eigen::MatrixXd covariance(const Eigen::MatrixXd& scaled, double offset) {
  const Eigen::Index d = scaled.cols();
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  cov.selfadjointView<Eigen::Lower>().rankUpdate(scaled.transpose());
  cov.triangularView<Eigen::StrictlyUpper>() = cov.transpose();
  cov.diagonal().array() += offset;
  return cov;
}

// Tr sqrt(Σa Σb) through the eigenvalues of sqrt(Σa) Σb sqrt(Σa), d × d.
double trace_sqrt_product_covariance(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double offset) {
  const Eigen::MatrixXd cov_a = covariance(a, offset);
  const Eigen::MatrixXd cov_b = covariance(b, offset);
  if (!cov_a.allFinite() || !cov_b.allFinite()) return kNaN;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(cov_a);
  if (solver.info() != Eigen::Success) return kNaN;
  const Eigen::VectorXd root = solver.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  const Eigen::MatrixXd sqrt_a = solver.eigenvectors() * root.asDiagonal() * solver.eigenvectors().transpose();
  const Eigen::MatrixXd product = sqrt_a * cov_b * sqrt_a;
  return trace_sqrt_psd(product);
}

// The same through the Gram form: with Σa = AᵀA and Σb = BᵀB, Σa Σb and (A Bᵀ)(A Bᵀ)ᵀ share
// their non-zero eigenvalues; the smaller set goes first (m × m with m = min(na, nb)).
double trace_sqrt_product_gram(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  const bool a_smaller = a.rows() <= b.rows();
  const Eigen::MatrixXd cross = a_smaller ? Eigen::MatrixXd(a * b.transpose()) : Eigen::MatrixXd(b * a.transpose());
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(cross.rows(), cross.rows());
  gram.selfadjointView<Eigen::Lower>().rankUpdate(cross);
  return trace_sqrt_psd(gram);
}

// ---- precision / recall --------------------------------------------------------------------

constexpr Eigen::Index kBlockRows = 256;

// Squared distances from a Gram matrix, ‖q‖² + ‖r‖² − 2 q·r, carry a rounding error below
// margin = 8 (d + 4) u (‖q‖² + ‖r‖²); decisions closer than that use exact differences.
struct GramDistances {
  GramDistances(const Matrix& queries, const Matrix& references)
      : queries_(queries),
        references_(references),
        query_norms_(view(queries).rowwise().squaredNorm()),
        reference_norms_(view(references).rowwise().squaredNorm()),
        relative_margin_(8.0 * (static_cast<double>(queries.cols) + 4.0) * std::numeric_limits<double>::epsilon() / 2.0) {}

  // Loads the block of query rows [first, first + count).
  void load_block(Eigen::Index first, Eigen::Index count) {
    first_ = first;
    gram_.noalias() = view(queries_).middleRows(first, count) * view(references_).transpose();
  }
  double approximate(Eigen::Index query, Eigen::Index reference) const {
    return query_norms_[query] + reference_norms_[reference] - 2.0 * gram_(query - first_, reference);
  }
  double margin(Eigen::Index query, Eigen::Index reference) const {
    return relative_margin_ * (query_norms_[query] + reference_norms_[reference]);
  }
  double exact(Eigen::Index query, Eigen::Index reference) const {
    return squared_distance(queries_.row(static_cast<std::size_t>(query)),
                            references_.row(static_cast<std::size_t>(reference)), queries_.cols);
  }

 private:
  const Matrix& queries_;
  const Matrix& references_;
  Eigen::VectorXd query_norms_;
  Eigen::VectorXd reference_norms_;
  double relative_margin_;
  Eigen::Index first_ = 0;
  Eigen::MatrixXd gram_;
};

// Squared distance of every row to its k-th nearest other row of the same set, exact.
std::vector<double> kth_neighbour_radius_sq(const Matrix& x, int k) {
  const auto n = static_cast<Eigen::Index>(x.rows);
  GramDistances distances(x, x);
  std::vector<double> radius(x.rows);
  std::vector<Eigen::Index> order;
  std::vector<double> upper, exact;
  for (Eigen::Index first = 0; first < n; first += kBlockRows) {
    const Eigen::Index count = std::min(kBlockRows, n - first);
    distances.load_block(first, count);
    for (Eigen::Index i = first; i < first + count; ++i) {
      // The k smallest approximate distances bound the exact k-th one from above.
      order.clear();
      for (Eigen::Index j = 0; j < n; ++j)
        if (j != i) order.push_back(j);
      std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), [&](Eigen::Index p, Eigen::Index q) {
        return distances.approximate(i, p) < distances.approximate(i, q);
      });
      double bound = -std::numeric_limits<double>::infinity();
      for (int m = 0; m < k; ++m)
        bound = std::max(bound, distances.approximate(i, order[m]) + distances.margin(i, order[m]));
      // Every row whose exact distance can be ≤ bound is a candidate; the k-th smallest exact
      // distance among them is the exact k-th neighbour distance.
      exact.clear();
      for (Eigen::Index j : order)
        if (distances.approximate(i, j) - distances.margin(i, j) <= bound) exact.push_back(distances.exact(i, j));
      std::nth_element(exact.begin(), exact.begin() + (k - 1), exact.end());
      radius[static_cast<std::size_t>(i)] = exact[static_cast<std::size_t>(k - 1)];
    }
  }
  return radius;
}

// How many sample rows lie within the radius of at least one reference row.
std::size_t count_inside(const Matrix& samples, const Matrix& references, const std::vector<double>& radius_sq) {
  const auto n = static_cast<Eigen::Index>(samples.rows);
  const auto m = static_cast<Eigen::Index>(references.rows);
  GramDistances distances(samples, references);
  std::size_t inside = 0;
  for (Eigen::Index first = 0; first < n; first += kBlockRows) {
    const Eigen::Index count = std::min(kBlockRows, n - first);
    distances.load_block(first, count);
    for (Eigen::Index s = first; s < first + count; ++s) {
      for (Eigen::Index j = 0; j < m; ++j) {
        const double approx = distances.approximate(s, j);
        const double margin = distances.margin(s, j);
        const double r = radius_sq[static_cast<std::size_t>(j)];
        if (approx - margin > r) continue;
        if (approx + margin < r || distances.exact(s, j) <= r) {
          ++inside;
          break;
        }
      }
    }
  }
  return inside;
}

}  // namespace

double frechet_distance(const Matrix& a, const Matrix& b) {
  validate_matrix(a, "frechet_distance: a", 2);
  validate_matrix(b, "frechet_distance: b", 2);
  require_same_columns(a, b, "frechet_distance", "a", "b");
  const CentredData ca = centre(a);
  const CentredData cb = centre(b);
  const double mean_term = (ca.mean - cb.mean).squaredNorm();
  const double trace_a = ca.scaled.squaredNorm();
  const double trace_b = cb.scaled.squaredNorm();
  const Eigen::Index d = ca.scaled.cols();
  double trace_sqrt = std::min(ca.scaled.rows(), cb.scaled.rows()) < d
                          ? trace_sqrt_product_gram(ca.scaled, cb.scaled)
                          : trace_sqrt_product_covariance(ca.scaled, cb.scaled, 0.0);
  if (!std::isfinite(trace_sqrt)) trace_sqrt = trace_sqrt_product_covariance(ca.scaled, cb.scaled, kFidOffset);
  const double fid = mean_term + trace_a + trace_b - 2.0 * trace_sqrt;
  if (!std::isfinite(fid)) {
    throw RunError(fmt::format("frechet_distance: not finite ({}) even with {}·I added to both covariances "
                               "(feature magnitudes up to {:g}); rescale the features",
                               fid, kFidOffset, std::max(view(a).cwiseAbs().maxCoeff(), view(b).cwiseAbs().maxCoeff())));
  }
  return std::max(fid, 0.0);
}

PrecisionRecall precision_recall(const Matrix& real, const Matrix& generated, int k) {
  if (k < 1) {
    throw ConfigError(fmt::format("precision_recall: k={} must be ≥ 1 (Kynkäänniemi et al. use k = 3)", k));
  }
  const auto min_rows = static_cast<std::size_t>(k) + 1;
  validate_matrix(real, fmt::format("precision_recall: real (k={})", k), min_rows);
  validate_matrix(generated, fmt::format("precision_recall: generated (k={})", k), min_rows);
  require_same_columns(real, generated, "precision_recall", "real", "generated");
  const std::vector<double> real_radius = kth_neighbour_radius_sq(real, k);
  const std::vector<double> generated_radius = kth_neighbour_radius_sq(generated, k);
  PrecisionRecall result;
  result.precision = static_cast<double>(count_inside(generated, real, real_radius)) / static_cast<double>(generated.rows);
  result.recall = static_cast<double>(count_inside(real, generated, generated_radius)) / static_cast<double>(real.rows);
  return result;
}

}  // namespace frerec::analysis
