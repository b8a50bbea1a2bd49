#include "framework/report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "framework/core/error.h"

namespace frerec::report {
namespace {

// Continued fraction for the incomplete beta (Numerical Recipes' betacf, Lentz's method).
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 300;
  constexpr double kEpsilon = 1e-15, kTiny = 1e-300;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return h;
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
  return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (!std::isfinite(t)) return 0.0;
  return incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

double paired_t_test_p(const std::vector<double>& a, const std::vector<double>& b) {
  FREREC_ASSERT(a.size() == b.size(), "paired test needs equal sizes");
  const std::size_t n = a.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i) d[i] = a[i] - b[i];
  const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (double v : d) ss += (v - mean) * (v - mean);
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  if (sd == 0.0) return mean == 0.0 ? std::numeric_limits<double>::quiet_NaN() : 0.0;
  const double t = mean / (sd / std::sqrt(static_cast<double>(n)));
  return student_t_two_sided_p(t, static_cast<double>(n - 1));
}

double wilcoxon_signed_rank_p(const std::vector<double>& a, const std::vector<double>& b) {
  FREREC_ASSERT(a.size() == b.size(), "paired test needs equal sizes");
  std::vector<double> d;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] - b[i] != 0.0) d.push_back(a[i] - b[i]);
  const std::size_t n = d.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  // Ranks of |d| with ties averaged.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return std::fabs(d[i]) < std::fabs(d[j]); });
  std::vector<double> rank(n);
  bool ties = false;
  double tie_term = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && std::fabs(d[order[j + 1]]) == std::fabs(d[order[i]])) ++j;
    const double average = (static_cast<double>(i + j) / 2.0) + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = average;
    const double t = static_cast<double>(j - i + 1);
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    i = j + 1;
  }
  double w_plus = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (d[i] > 0) w_plus += rank[i];
  const double total = static_cast<double>(n) * static_cast<double>(n + 1) / 2.0;
  const double w_minus = total - w_plus;
  const double statistic = std::min(w_plus, w_minus);
  if (n <= 50 && !ties) {
    // Exact null distribution of W+ by dynamic programming over ranks 1..n.
    const int max_sum = static_cast<int>(total);
    std::vector<double> counts(static_cast<std::size_t>(max_sum) + 1, 0.0);
    counts[0] = 1.0;
    for (std::size_t r = 1; r <= n; ++r)
      for (int s = max_sum; s >= static_cast<int>(r); --s) counts[static_cast<std::size_t>(s)] += counts[static_cast<std::size_t>(s) - r];
    double tail = 0;
    for (int s = 0; s <= static_cast<int>(statistic); ++s) tail += counts[static_cast<std::size_t>(s)];
    const double p = 2.0 * tail / std::pow(2.0, static_cast<double>(n));
    return std::min(1.0, p);
  }
  const double mean = total / 2.0;
  const double variance = static_cast<double>(n) * (n + 1) * (2 * n + 1) / 24.0 - tie_term / 48.0;
  if (variance <= 0) return std::numeric_limits<double>::quiet_NaN();
  const double z = (statistic - mean) / std::sqrt(variance);
  return std::min(1.0, std::erfc(std::fabs(z) / std::sqrt(2.0)));
}

}  // namespace frerec::report
