// L2-regularised logistic regression (Newton-CG) and the real-vs-synthetic probe
// (framework/analysis/analysis.h).
#include <Eigen/Core>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "framework/analysis/analysis.h"
#include "framework/analysis/eigen_view.h"
#include "framework/core/error.h"
#include "framework/core/random.h"
#include "framework/metrics/metrics.h"

namespace frerec::analysis {
namespace {

using detail::view;

// log(1 + e^z) and 1 / (1 + e^−z) without overflow.
double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))); }
double sigmoid(double z) {
  if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// f(w, b) = ½‖w‖² + C Σᵢ [softplus(zᵢ) − yᵢ zᵢ], z = X w + b; θ = (w, b).
class LogisticObjective {
 public:
  LogisticObjective(const Matrix& x, const std::vector<int>& y, double c)
      : x_(view(x)), y_(static_cast<Eigen::Index>(y.size())), c_(c), d_(static_cast<Eigen::Index>(x.cols)) {
    for (std::size_t i = 0; i < y.size(); ++i) y_[static_cast<Eigen::Index>(i)] = y[i];
  }

  Eigen::Index parameters() const { return d_ + 1; }

  Eigen::VectorXd margins(const Eigen::VectorXd& theta) const {
    return (x_ * theta.head(d_)).array() + theta[d_];
  }

  double value(const Eigen::VectorXd& theta) const {
    const Eigen::VectorXd z = margins(theta);
    double loss = 0.0;
    for (Eigen::Index i = 0; i < z.size(); ++i) loss += softplus(z[i]) - y_[i] * z[i];
    return 0.5 * theta.head(d_).squaredNorm() + c_ * loss;
  }

  // Gradient at θ; keeps the curvature weights s = p(1 − p) for hessian_times().
  Eigen::VectorXd gradient(const Eigen::VectorXd& theta) {
    const Eigen::VectorXd z = margins(theta);
    Eigen::VectorXd residual(z.size());
    weights_.resize(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      const double p = sigmoid(z[i]);
      residual[i] = p - y_[i];
      weights_[i] = p * (1.0 - p);
    }
    Eigen::VectorXd g(d_ + 1);
    g.head(d_) = theta.head(d_) + c_ * (x_.transpose() * residual);
    g[d_] = c_ * residual.sum();
    return g;
  }

  Eigen::VectorXd hessian_times(const Eigen::VectorXd& v) const {
    const Eigen::VectorXd u = weights_.cwiseProduct((x_ * v.head(d_)).array().matrix() +
                                                    Eigen::VectorXd::Constant(weights_.size(), v[d_]));
    Eigen::VectorXd out(d_ + 1);
    out.head(d_) = v.head(d_) + c_ * (x_.transpose() * u);
    out[d_] = c_ * u.sum();
    return out;
  }

  // Diagonal of the Hessian (Jacobi preconditioner), floored to stay invertible.
  Eigen::VectorXd hessian_diagonal() const {
    Eigen::VectorXd diag(d_ + 1);
    diag.head(d_) = (Eigen::VectorXd::Ones(d_) + c_ * (x_.array().square().matrix().transpose() * weights_));
    diag[d_] = c_ * weights_.sum();
    return diag.cwiseMax(1e-12);
  }

 private:
  Eigen::Map<const detail::RowMatrix> x_;
  Eigen::VectorXd y_;
  double c_;
  Eigen::Index d_;
  Eigen::VectorXd weights_;
};

// Preconditioned conjugate gradients for H s = −g to relative residual `forcing`.
Eigen::VectorXd newton_direction(const LogisticObjective& objective, const Eigen::VectorXd& g, double forcing) {
  const Eigen::VectorXd inverse_diag = objective.hessian_diagonal().cwiseInverse();
  Eigen::VectorXd s = Eigen::VectorXd::Zero(g.size());
  Eigen::VectorXd r = -g;
  Eigen::VectorXd z = inverse_diag.cwiseProduct(r);
  Eigen::VectorXd p = z;
  double rz = r.dot(z);
  const double target = forcing * g.norm();
  const Eigen::Index max_steps = 2 * g.size() + 20;
  for (Eigen::Index step = 0; step < max_steps && r.norm() > target; ++step) {
    const Eigen::VectorXd hp = objective.hessian_times(p);
    const double curvature = p.dot(hp);
    if (!(curvature > 0.0)) break;
    const double alpha = rz / curvature;
    s += alpha * p;
    r -= alpha * hp;
    z = inverse_diag.cwiseProduct(r);
    const double rz_next = r.dot(z);
    p = z + (rz_next / rz) * p;
    rz = rz_next;
  }
  return s.isZero(0.0) ? Eigen::VectorXd(-inverse_diag.cwiseProduct(g)) : s;
}

void validate_labels(const std::vector<int>& y, std::size_t rows, const char* function) {
  if (y.size() != rows) {
    throw ConfigError(fmt::format("{}: {} labels for {} rows; pass one label (0 or 1) per row", function, y.size(),
                                  rows));
  }
  std::size_t positives = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0 && y[i] != 1) {
      throw ConfigError(fmt::format("{}: label {} at row {} must be 0 or 1", function, y[i], i));
    }
    positives += static_cast<std::size_t>(y[i]);
  }
  if (positives == 0 || positives == y.size()) {
    throw ConfigError(fmt::format("{}: all {} labels are {}; logistic regression needs both classes", function,
                                  y.size(), y.front()));
  }
}

// StandardScaler's fit on the training rows: mean, population std, constant features → 1.
struct Standardizer {
  Eigen::RowVectorXd mean;
  Eigen::RowVectorXd scale;
};

Standardizer fit_standardizer(const Matrix& x, const std::vector<std::size_t>& rows) {
  const auto d = static_cast<Eigen::Index>(x.cols);
  const auto data = view(x);
  const double n = static_cast<double>(rows.size());
  Standardizer s{Eigen::RowVectorXd::Zero(d), Eigen::RowVectorXd::Zero(d)};
  for (std::size_t r : rows) s.mean += data.row(static_cast<Eigen::Index>(r));
  s.mean /= n;
  Eigen::RowVectorXd variance = Eigen::RowVectorXd::Zero(d);
  for (std::size_t r : rows) variance += (data.row(static_cast<Eigen::Index>(r)) - s.mean).array().square().matrix();
  variance /= n;
  const double eps = std::numeric_limits<double>::epsilon();
  for (Eigen::Index j = 0; j < d; ++j) {
    // sklearn's _is_constant_feature: var ≤ n·eps·var + (n·mean·eps)².
    const bool constant = variance[j] <= n * eps * variance[j] + std::pow(n * s.mean[j] * eps, 2.0);
    s.scale[j] = constant ? 1.0 : std::sqrt(variance[j]);
  }
  return s;
}

Matrix take_rows(const Matrix& x, const std::vector<std::size_t>& rows, const Standardizer* standardizer) {
  Matrix out(rows.size(), x.cols);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double* source = x.row(rows[i]);
    double* target = out.row(i);
    for (std::size_t j = 0; j < x.cols; ++j) {
      target[j] = standardizer ? (source[j] - standardizer->mean[static_cast<Eigen::Index>(j)]) /
                                     standardizer->scale[static_cast<Eigen::Index>(j)]
                               : source[j];
    }
  }
  return out;
}

void validate_probe_options(const ProbeOptions& options) {
  if (options.folds < 2) {
    throw ConfigError(fmt::format("logistic_probe: folds={} must be ≥ 2", options.folds));
  }
  if (!(options.c > 0.0) || !std::isfinite(options.c)) {
    throw ConfigError(fmt::format("logistic_probe: c={} must be a positive finite inverse regularisation strength",
                                  options.c));
  }
  if (options.max_iterations < 1) {
    throw ConfigError(fmt::format("logistic_probe: max_iterations={} must be ≥ 1", options.max_iterations));
  }
}

}  // namespace

LogisticModel fit_logistic(const Matrix& x, const std::vector<int>& y, double c, int max_iterations) {
  validate_matrix(x, "fit_logistic: x", 2);
  validate_labels(y, x.rows, "fit_logistic");
  if (!(c > 0.0) || !std::isfinite(c)) {
    throw ConfigError(fmt::format("fit_logistic: c={} must be a positive finite inverse regularisation strength", c));
  }
  if (max_iterations < 1) {
    throw ConfigError(fmt::format("fit_logistic: max_iterations={} must be ≥ 1", max_iterations));
  }
  LogisticObjective objective(x, y, c);
  // Gradient entries are sums of n terms bounded by C·max|x|: converge 12 digits below that.
  const double max_abs = view(x).cwiseAbs().maxCoeff();
  const double tolerance = 1e-12 * std::max(1.0, c * static_cast<double>(x.rows) * std::max(1.0, max_abs));

  Eigen::VectorXd theta = Eigen::VectorXd::Zero(objective.parameters());
  double f = objective.value(theta);
  Eigen::VectorXd g = objective.gradient(theta);
  LogisticModel model;
  bool converged = g.lpNorm<Eigen::Infinity>() <= tolerance;
  const double initial_norm = g.norm();
  while (!converged && model.iterations < max_iterations) {
    ++model.iterations;
    // Inexact Newton (Eisenstat–Walker style forcing): superlinear near the optimum.
    const double forcing = std::min(0.5, std::sqrt(g.norm() / initial_norm));
    const Eigen::VectorXd direction = newton_direction(objective, g, forcing);
    const double slope = g.dot(direction);
    double step = 1.0;
    double f_next = f;
    Eigen::VectorXd theta_next;
    bool decreased = false;
    for (int halving = 0; halving < 60 && slope < 0.0; ++halving, step *= 0.5) {
      theta_next = theta + step * direction;
      f_next = objective.value(theta_next);
      if (f_next <= f + 1e-4 * step * slope) {
        decreased = true;
        break;
      }
    }
    if (!decreased) break;  // rounding floor: no representable decrease along the Newton direction
    theta = theta_next;
    f = f_next;
    g = objective.gradient(theta);
    converged = g.lpNorm<Eigen::Infinity>() <= tolerance;
  }
  if (!converged && g.lpNorm<Eigen::Infinity>() > 1e3 * tolerance) {
    spdlog::warn("fit_logistic: stopped after {} Newton iterations (max_iterations={}) with gradient {:.3g} > {:.3g}; "
                 "raise max_iterations or c may be too large for separable data",
                 model.iterations, max_iterations, g.lpNorm<Eigen::Infinity>(), tolerance);
  }
  model.weights.assign(theta.data(), theta.data() + x.cols);
  model.intercept = theta[static_cast<Eigen::Index>(x.cols)];
  return model;
}

std::vector<double> decision_function(const LogisticModel& model, const Matrix& x) {
  validate_matrix(x, "decision_function: x", 0);
  if (model.weights.size() != x.cols) {
    throw ConfigError(fmt::format("decision_function: model has {} weights but x has {} features", model.weights.size(),
                                  x.cols));
  }
  const Eigen::Map<const Eigen::VectorXd> w(model.weights.data(), static_cast<Eigen::Index>(model.weights.size()));
  const Eigen::VectorXd z = (view(x) * w).array() + model.intercept;
  return std::vector<double>(z.data(), z.data() + z.size());
}

std::vector<int> stratified_folds(const std::vector<int>& labels, int folds, std::uint64_t seed) {
  if (folds < 2) throw ConfigError(fmt::format("stratified_folds: folds={} must be ≥ 2", folds));
  std::vector<int> classes = labels;
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::mt19937_64 generator(seed);
  std::vector<int> fold(labels.size(), -1);
  for (int label : classes) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == label) members.push_back(i);
    if (members.size() < static_cast<std::size_t>(folds)) {
      throw ConfigError(fmt::format("stratified_folds: class {} has {} rows, fewer than folds={}; pass more rows or "
                                    "use fewer folds",
                                    label, members.size(), folds));
    }
    for (std::size_t i = members.size() - 1; i > 0; --i)
      std::swap(members[i], members[random::uniform_index_reject_low(generator, i + 1)]);
    for (std::size_t position = 0; position < members.size(); ++position)
      fold[members[position]] = static_cast<int>(position % static_cast<std::size_t>(folds));
  }
  return fold;
}

ProbeResult logistic_probe(const Matrix& a, const Matrix& b, const ProbeOptions& options) {
  validate_probe_options(options);
  const auto min_rows = static_cast<std::size_t>(options.folds);
  validate_matrix(a, fmt::format("logistic_probe: a (real, folds={})", options.folds), min_rows);
  validate_matrix(b, fmt::format("logistic_probe: b (synthetic, folds={})", options.folds), min_rows);
  std::vector<int> labels(a.rows, 0);
  labels.resize(a.rows + b.rows, 1);
  return logistic_probe_with_folds(a, b, stratified_folds(labels, options.folds, options.seed), options);
}

ProbeResult logistic_probe_with_folds(const Matrix& a, const Matrix& b, const std::vector<int>& fold_of_row,
                                      const ProbeOptions& options) {
  validate_probe_options(options);
  validate_matrix(a, "logistic_probe: a (real)", 1);
  validate_matrix(b, "logistic_probe: b (synthetic)", 1);
  if (a.cols != b.cols) {
    throw ConfigError(fmt::format("logistic_probe: real features have {} columns but synthetic ones {}; both must come "
                                  "from the same feature extractor",
                                  a.cols, b.cols));
  }
  const Matrix x = vstack(a, b);
  if (fold_of_row.size() != x.rows) {
    throw ConfigError(fmt::format("logistic_probe: {} fold ids for {} rows", fold_of_row.size(), x.rows));
  }
  ProbeResult result;
  for (int f = 0; f < options.folds; ++f) {
    std::vector<std::size_t> train, test;
    std::vector<int> train_labels, test_labels;
    for (std::size_t i = 0; i < x.rows; ++i) {
      const int fold = fold_of_row[i];
      if (fold < 0 || fold >= options.folds) {
        throw ConfigError(fmt::format("logistic_probe: fold id {} of row {} is outside [0, folds={})", fold, i,
                                      options.folds));
      }
      const int label = i < a.rows ? 0 : 1;
      (fold == f ? test : train).push_back(i);
      (fold == f ? test_labels : train_labels).push_back(label);
    }
    const auto has_both = [](const std::vector<int>& l) {
      return std::find(l.begin(), l.end(), 0) != l.end() && std::find(l.begin(), l.end(), 1) != l.end();
    };
    if (!has_both(test_labels) || !has_both(train_labels)) {
      throw ConfigError(fmt::format("logistic_probe: fold {} leaves a single class in its {} rows; every fold needs "
                                    "real and synthetic rows in both its training and its test part",
                                    f, has_both(test_labels) ? "training" : "test"));
    }
    const Standardizer standardizer = fit_standardizer(x, train);
    const Standardizer* scale = options.standardize ? &standardizer : nullptr;
    const LogisticModel model = fit_logistic(take_rows(x, train, scale), train_labels, options.c, options.max_iterations);
    result.fold_auc.push_back(metrics::roc_auc(test_labels, decision_function(model, take_rows(x, test, scale))));
  }
  const double folds = static_cast<double>(result.fold_auc.size());
  result.auc = std::accumulate(result.fold_auc.begin(), result.fold_auc.end(), 0.0) / folds;
  double squares = 0.0;
  for (double v : result.fold_auc) squares += (v - result.auc) * (v - result.auc);
  result.auc_std = std::sqrt(squares / folds);
  return result;
}

}  // namespace frerec::analysis
