// Exact t-SNE (van der Maaten & Hinton 2008) with sklearn's method='exact' schedule, its
// joint probabilities and trustworthiness (framework/analysis/analysis.h states the choices).
//
// Layout: P is a dense N × N row-major array (zero diagonal); the embedding is stored as
// `dims` columns of N values so the per-row kernels run over contiguous memory. Each row's
// sums are written to that row's slots only and reduced in row order afterwards, so the
// result does not depend on the thread count.
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "framework/analysis/analysis.h"
#include "framework/analysis/eigen_view.h"
#include "framework/analysis/tsne_objective.h"
#include "framework/core/error.h"
#include "framework/core/random.h"
#include "framework/spectral/parallel.h"

namespace frerec::analysis {
namespace {

using detail::squared_distance;
using detail::TsneObjective;
using detail::view;
using spectral::parallel_for;

constexpr double kMachineEpsilon = std::numeric_limits<double>::epsilon();
// sklearn's _binary_search_perplexity and _gradient_descent constants.
constexpr int kSearchSteps = 100;
constexpr double kPerplexityTolerance = 1e-5;
constexpr double kZeroSum = 1e-8;
constexpr int kCheckEvery = 50;
constexpr double kMinGradientNorm = 1e-7;
constexpr int kNoProgressIterations = 300;
constexpr double kMomentumExaggeration = 0.5;
constexpr double kMomentumFinal = 0.8;
constexpr double kGainIncrease = 0.2;
constexpr double kGainDecrease = 0.8;
constexpr double kMinGain = 0.01;
constexpr double kInitStd = 1e-4;
constexpr std::size_t kRowsPerTask = 32;

// Calls fn(first, last) for consecutive blocks of rows [first, last) on up to `threads` threads.
template <typename Fn>
void for_row_blocks(std::size_t n, int threads, Fn&& fn) {
  const std::size_t blocks = (n + kRowsPerTask - 1) / kRowsPerTask;
  parallel_for(blocks, threads, [&](std::size_t b) { fn(b * kRowsPerTask, std::min(n, (b + 1) * kRowsPerTask)); });
}

// One row of sklearn's binary search: conditional P_{j|i} in `row` for the float32-rounded
// squared distances `distance` (row[i] stays 0).
void conditional_row(const std::vector<float>& distance, std::size_t i, double desired_entropy, double* row) {
  const std::size_t n = distance.size();
  double beta = 1.0;
  double beta_min = -std::numeric_limits<double>::infinity();
  double beta_max = std::numeric_limits<double>::infinity();
  for (int step = 0; step < kSearchSteps; ++step) {
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      row[j] = j == i ? 0.0 : std::exp(-static_cast<double>(distance[j]) * beta);
      sum += row[j];
    }
    if (sum == 0.0) sum = kZeroSum;
    double weighted = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      row[j] /= sum;
      weighted += static_cast<double>(distance[j]) * row[j];
    }
    const double entropy_difference = std::log(sum) + beta * weighted - desired_entropy;
    if (std::abs(entropy_difference) <= kPerplexityTolerance) break;
    if (entropy_difference > 0.0) {
      beta_min = beta;
      beta = std::isinf(beta_max) ? beta * 2.0 : (beta + beta_max) / 2.0;
    } else {
      beta_max = beta;
      beta = std::isinf(beta_min) ? beta / 2.0 : (beta + beta_min) / 2.0;
    }
  }
}

// Symmetrised joint probabilities, N × N, as sklearn's _joint_probabilities.
std::vector<double> joint_probabilities(const Matrix& x, double perplexity, int threads) {
  const std::size_t n = x.rows;
  std::vector<double> p(n * n);
  const double desired_entropy = std::log(perplexity);
  for_row_blocks(n, threads, [&](std::size_t first, std::size_t last) {
    std::vector<float> distance(n);
    for (std::size_t i = first; i < last; ++i) {
      for (std::size_t j = 0; j < n; ++j) distance[j] = static_cast<float>(squared_distance(x.row(i), x.row(j), x.cols));
      conditional_row(distance, i, desired_entropy, p.data() + i * n);
    }
  });
  std::vector<double> row_sum(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const double v = p[i * n + j] + p[j * n + i];
      p[i * n + j] = p[j * n + i] = v;
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) row_sum[i] += p[i * n + j];
  const double total = std::max(std::accumulate(row_sum.begin(), row_sum.end(), 0.0), kMachineEpsilon);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) p[i * n + j] = i == j ? 0.0 : std::max(p[i * n + j] / total, kMachineEpsilon);
  return p;
}

void validate_perplexity(double perplexity, std::size_t n) {
  if (!(perplexity > 0.0) || !(perplexity < static_cast<double>(n))) {
    throw ConfigError(fmt::format("tsne: perplexity={} must be in (0, N={}); a perplexity near the number of points "
                                  "makes every neighbour equally likely (typical: 5–50)",
                                  perplexity, n));
  }
}

void validate_options(const Matrix& x, const TsneOptions& o) {
  if (o.max_points < 2) throw ConfigError(fmt::format("tsne: max_points={} must be ≥ 2", o.max_points));
  if (x.rows > static_cast<std::size_t>(o.max_points)) {
    throw ConfigError(fmt::format("tsne: {} points exceed max_points={}; exact t-SNE costs O(N²) time and {:.1f} GB "
                                  "for P; subsample the features or raise max_points",
                                  x.rows, o.max_points, 8.0 * static_cast<double>(x.rows) * x.rows / 1e9));
  }
  validate_matrix(x, "tsne: x", 2);
  if (o.dims < 1 || static_cast<std::size_t>(o.dims) > x.cols) {
    throw ConfigError(fmt::format("tsne: dims={} must be in [1, {}] (the feature count; PCA initialisation)", o.dims,
                                  x.cols));
  }
  validate_perplexity(o.perplexity, x.rows);
  if (o.iterations < 1) throw ConfigError(fmt::format("tsne: iterations={} must be ≥ 1", o.iterations));
  if (o.exaggeration_iterations < 0 || o.exaggeration_iterations > o.iterations) {
    throw ConfigError(fmt::format("tsne: exaggeration_iterations={} must be in [0, iterations={}]",
                                  o.exaggeration_iterations, o.iterations));
  }
  if (!(o.early_exaggeration >= 1.0) || !std::isfinite(o.early_exaggeration)) {
    throw ConfigError(fmt::format("tsne: early_exaggeration={} must be ≥ 1 (sklearn's default is 12)",
                                  o.early_exaggeration));
  }
  if (o.learning_rate != -1.0 && (!(o.learning_rate > 0.0) || !std::isfinite(o.learning_rate))) {
    throw ConfigError(fmt::format("tsne: learning_rate={} must be positive, or -1 for sklearn's 'auto'",
                                  o.learning_rate));
  }
  if (o.threads < 1) throw ConfigError(fmt::format("tsne: threads={} must be ≥ 1", o.threads));
}

// First `dims` principal-component scores (exact eigenvectors of the covariance or of the
// Gram matrix, whichever is smaller), each sign chosen so its largest |score| is positive,
// scaled so the first column has std 1e-4. Returns false when that std is 0.
bool pca_init(const Matrix& x, int dims, std::vector<std::vector<double>>& y) {
  const auto n = static_cast<Eigen::Index>(x.rows);
  const auto d = static_cast<Eigen::Index>(x.cols);
  const Eigen::MatrixXd centred = view(x).rowwise() - view(x).colwise().mean();
  Eigen::MatrixXd scores(n, dims);
  if (d <= n) {
    Eigen::MatrixXd covariance = Eigen::MatrixXd::Zero(d, d);
    covariance.selfadjointView<Eigen::Lower>().rankUpdate(centred.transpose());
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(covariance);
    FREREC_ASSERT(solver.info() == Eigen::Success, "tsne: PCA eigen-decomposition failed on finite input");
    scores = centred * solver.eigenvectors().rightCols(dims).rowwise().reverse();
  } else {
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(n, n);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(centred);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
    FREREC_ASSERT(solver.info() == Eigen::Success, "tsne: PCA eigen-decomposition failed on finite input");
    const Eigen::VectorXd root = solver.eigenvalues().tail(dims).reverse().cwiseMax(0.0).cwiseSqrt();
    scores = solver.eigenvectors().rightCols(dims).rowwise().reverse() * root.asDiagonal();
  }
  for (int k = 0; k < dims; ++k) {
    Eigen::Index largest = 0;
    scores.col(k).cwiseAbs().maxCoeff(&largest);
    if (scores(largest, k) < 0.0) scores.col(k) *= -1.0;
  }
  const double std0 = std::sqrt((scores.col(0).array() - scores.col(0).mean()).square().mean());
  if (!(std0 > 0.0) || !std::isfinite(std0)) return false;
  y.assign(static_cast<std::size_t>(dims), std::vector<double>(x.rows));
  for (int k = 0; k < dims; ++k)
    for (Eigen::Index i = 0; i < n; ++i) y[static_cast<std::size_t>(k)][static_cast<std::size_t>(i)] = scores(i, k) / std0 * kInitStd;
  return true;
}

// N(0, 1e-4²) entries from a seeded std::mt19937_64 and our own Box–Muller (portable).
void random_init(std::size_t n, int dims, std::uint64_t seed, std::vector<std::vector<double>>& y) {
  std::mt19937_64 generator(seed);
  y.assign(static_cast<std::size_t>(dims), std::vector<double>(n));
  for (auto& column : y) {
    for (double& v : column) {
      const random::BoxMuller b = random::box_muller(generator);
      v = kInitStd * b.radius * std::cos(b.angle);
    }
  }
}

// Σ v[j] with four interleaved partial sums (breaks the add latency chain; fixed order).
double interleaved_sum(const double* v, std::size_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += v[j];
    s1 += v[j + 1];
    s2 += v[j + 2];
    s3 += v[j + 3];
  }
  for (; j < n; ++j) s0 += v[j];
  return (s0 + s1) + (s2 + s3);
}

// a = Σ p[j] (yi − y[j]) and b = Σ q[j] (yi − y[j]), four interleaved partial sums each.
void interleaved_weighted_differences(const double* p, const double* q, const double* y, double yi, std::size_t n,
                                      double& a, double& b) {
  double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const double d0 = yi - y[j], d1 = yi - y[j + 1], d2 = yi - y[j + 2], d3 = yi - y[j + 3];
    a0 += p[j] * d0;
    a1 += p[j + 1] * d1;
    a2 += p[j + 2] * d2;
    a3 += p[j + 3] * d3;
    b0 += q[j] * d0;
    b1 += q[j + 1] * d1;
    b2 += q[j + 2] * d2;
    b3 += q[j + 3] * d3;
  }
  for (; j < n; ++j) {
    a0 += p[j] * (yi - y[j]);
    b0 += q[j] * (yi - y[j]);
  }
  a = (a0 + a1) + (a2 + a3);
  b = (b0 + b1) + (b2 + b3);
}

struct Phase {
  int first = 0;        // first iteration index
  int end = 0;          // one past the last
  double momentum = 0;
  double exaggeration = 1;
  int no_progress = 0;  // iterations without a better error before stopping
};

// sklearn's _gradient_descent: momentum, per-parameter gains, checks every 50 iterations.
// Returns the index of the last iteration run (first − 1 when none).
int gradient_descent(TsneObjective& objective, const Phase& phase, double learning_rate,
                     const std::function<void(int, double)>& progress, std::vector<std::vector<double>>& y) {
  const std::size_t dims = y.size();
  const std::size_t n = y.front().size();
  std::vector<std::vector<double>> update(dims, std::vector<double>(n, 0.0));
  std::vector<std::vector<double>> gains(dims, std::vector<double>(n, 1.0));
  std::vector<std::vector<double>> gradient;
  double best_error = std::numeric_limits<double>::max();
  int best_iteration = phase.first;
  int i = phase.first - 1;
  for (int it = phase.first; it < phase.end; ++it) {
    i = it;
    const bool check = (it + 1) % kCheckEvery == 0;
    const double error = objective.evaluate(y, phase.exaggeration, check, gradient);
    double norm_sq = 0.0;
    for (std::size_t k = 0; k < dims; ++k) {
      for (std::size_t j = 0; j < n; ++j) {
        double& gain = gains[k][j];
        double& step = update[k][j];
        double g = gradient[k][j];
        gain = step * g < 0.0 ? gain + kGainIncrease : gain * kGainDecrease;
        gain = std::max(gain, kMinGain);
        g *= gain;
        norm_sq += g * g;
        step = phase.momentum * step - learning_rate * g;
        y[k][j] += step;
      }
    }
    if (!check) continue;
    if (progress) progress(it + 1, error);
    if (error < best_error) {
      best_error = error;
      best_iteration = it;
    } else if (it - best_iteration > phase.no_progress) {
      break;
    }
    if (std::sqrt(norm_sq) <= kMinGradientNorm) break;
  }
  return i;
}

}  // namespace

namespace detail {

TsneObjective::TsneObjective(const std::vector<double>& p, std::size_t n, int dims, int threads)
    : p_(p), n_(n), dims_(static_cast<std::size_t>(dims)), threads_(threads), dof_(std::max(dims - 1, 1)),
      attraction_(dims_ * n), repulsion_(dims_ * n), kernel_sum_(n), kl_row_(n), p_sum_(n) {}

double TsneObjective::evaluate(const std::vector<std::vector<double>>& y, double exaggeration, bool with_error,
                               std::vector<std::vector<double>>& gradient) {
  const double dof = static_cast<double>(dof_);
  const double exponent = -(dof + 1.0) / 2.0;
  const double inverse_dof = 1.0 / dof;  // one division per pair is enough
  for_row_blocks(n_, threads_, [&](std::size_t first, std::size_t last) {
    std::vector<double> d2(n_), u(n_), w(n_), pu(n_), wu(n_);
    for (std::size_t i = first; i < last; ++i) {
      // Element-wise passes (vectorised), then reductions with four interleaved partial sums
      // (a fixed order: the result does not depend on threads).
      std::fill(d2.begin(), d2.end(), 0.0);
      for (std::size_t k = 0; k < dims_; ++k) {
        const double* column = y[k].data();
        const double yi = column[i];
        for (std::size_t j = 0; j < n_; ++j) d2[j] += (yi - column[j]) * (yi - column[j]);
      }
      const double* p_row = p_.data() + i * n_;
      for (std::size_t j = 0; j < n_; ++j) u[j] = 1.0 / (1.0 + d2[j] * inverse_dof);
      if (dof_ == 1) {
        std::copy(u.begin(), u.end(), w.begin());
      } else {
        for (std::size_t j = 0; j < n_; ++j) w[j] = std::pow(u[j], -exponent);
      }
      w[i] = 0.0;  // no self-pair (p_ii is 0 already)
      for (std::size_t j = 0; j < n_; ++j) {
        pu[j] = exaggeration * p_row[j] * u[j];
        wu[j] = w[j] * u[j];
      }
      kernel_sum_[i] = interleaved_sum(w.data(), n_);
      for (std::size_t k = 0; k < dims_; ++k) {
        const double* column = y[k].data();
        const double yi = column[i];
        interleaved_weighted_differences(pu.data(), wu.data(), column, yi, n_, attraction_[k * n_ + i],
                                         repulsion_[k * n_ + i]);
      }
      if (with_error) {
        double kl = 0.0, p_total = 0.0;
        for (std::size_t j = 0; j < n_; ++j) {
          if (j == i) continue;
          const double pe = exaggeration * p_row[j];
          const double log_w = dof_ == 1 ? std::log(u[j]) : -exponent * std::log(u[j]);
          kl += pe * (std::log(std::max(pe, kMachineEpsilon)) - log_w);
          p_total += pe;
        }
        kl_row_[i] = kl;
        p_sum_[i] = p_total;
      }
    }
  });
  const double z = std::accumulate(kernel_sum_.begin(), kernel_sum_.end(), 0.0);
  const double c = 2.0 * (dof + 1.0) / dof;
  gradient.resize(dims_);
  for (std::size_t k = 0; k < dims_; ++k) {
    gradient[k].resize(n_);
    for (std::size_t i = 0; i < n_; ++i)
      gradient[k][i] = c * (attraction_[k * n_ + i] - repulsion_[k * n_ + i] / z);
  }
  if (!with_error) return std::numeric_limits<double>::quiet_NaN();
  // Σ p (ln p − ln q) with ln q = ln w − ln Z.
  return std::accumulate(kl_row_.begin(), kl_row_.end(), 0.0) +
         std::log(z) * std::accumulate(p_sum_.begin(), p_sum_.end(), 0.0);
}

}  // namespace detail

Matrix tsne_joint_probabilities(const Matrix& x, double perplexity, int threads) {
  validate_matrix(x, "tsne_joint_probabilities: x", 2);
  validate_perplexity(perplexity, x.rows);
  if (threads < 1) throw ConfigError(fmt::format("tsne_joint_probabilities: threads={} must be ≥ 1", threads));
  Matrix p(x.rows, x.rows);
  p.data = joint_probabilities(x, perplexity, threads);
  return p;
}

TsneResult tsne(const Matrix& x, const TsneOptions& options) {
  validate_options(x, options);
  const std::size_t n = x.rows;
  const std::vector<double> p = joint_probabilities(x, options.perplexity, options.threads);
  std::vector<std::vector<double>> y;
  if (!pca_init(x, options.dims, y)) random_init(n, options.dims, options.seed, y);
  const double learning_rate = options.learning_rate == -1.0
                                   ? std::max(static_cast<double>(n) / options.early_exaggeration / 4.0, 50.0)
                                   : options.learning_rate;
  TsneObjective objective(p, n, options.dims, options.threads);
  const Phase exaggerated{0, options.exaggeration_iterations, kMomentumExaggeration, options.early_exaggeration,
                          options.exaggeration_iterations};
  int last = gradient_descent(objective, exaggerated, learning_rate, options.progress, y);
  const Phase final_phase{last + 1, options.iterations, kMomentumFinal, 1.0, kNoProgressIterations};
  last = gradient_descent(objective, final_phase, learning_rate, options.progress, y);

  TsneResult result;
  std::vector<std::vector<double>> gradient;
  result.kl_divergence = objective.evaluate(y, 1.0, true, gradient);
  result.iterations = last + 1;
  result.embedding = Matrix(n, static_cast<std::size_t>(options.dims));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < y.size(); ++k) result.embedding(i, k) = y[k][i];
  return result;
}

double trustworthiness(const Matrix& x, const Matrix& embedding, int n_neighbors) {
  validate_matrix(x, "trustworthiness: x", 1);
  validate_matrix(embedding, "trustworthiness: embedding", 1);
  const std::size_t n = x.rows;
  if (embedding.rows != n) {
    throw ConfigError(fmt::format("trustworthiness: x has {} rows but the embedding {}", n, embedding.rows));
  }
  if (n_neighbors < 1 || !(static_cast<double>(n_neighbors) < static_cast<double>(n) / 2.0)) {
    throw ConfigError(fmt::format("trustworthiness: n_neighbors={} must be in [1, N/2) with N={}", n_neighbors, n));
  }
  const auto k = static_cast<std::size_t>(n_neighbors);
  std::vector<std::size_t> order(n), rank(n);
  std::vector<double> distance(n);
  long long penalty = 0;
  for (std::size_t i = 0; i < n; ++i) {
    // Ranks 1..N−1 of every other point in the input space (ties by index).
    for (std::size_t j = 0; j < n; ++j) distance[j] = squared_distance(x.row(i), x.row(j), x.cols);
    order.resize(n);
    std::iota(order.begin(), order.end(), 0);
    order.erase(order.begin() + static_cast<std::ptrdiff_t>(i));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return distance[a] < distance[b]; });
    for (std::size_t r = 0; r < order.size(); ++r) rank[order[r]] = r + 1;
    // The k nearest in the embedding.
    for (std::size_t j = 0; j < n; ++j) distance[j] = squared_distance(embedding.row(i), embedding.row(j), embedding.cols);
    order.resize(n);
    std::iota(order.begin(), order.end(), 0);
    order.erase(order.begin() + static_cast<std::ptrdiff_t>(i));
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](std::size_t a, std::size_t b) {
                        return distance[a] < distance[b] || (distance[a] == distance[b] && a < b);
                      });
    for (std::size_t m = 0; m < k; ++m) penalty += std::max<long long>(0, static_cast<long long>(rank[order[m]]) - n_neighbors);
  }
  const double nd = static_cast<double>(n), kd = static_cast<double>(k);
  return 1.0 - static_cast<double>(penalty) * 2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0));
}

}  // namespace frerec::analysis
