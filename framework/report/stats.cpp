#include "framework/report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "framework/core/error.h"
#include "framework/core/random.h"

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
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (a.empty()) return kNaN;
  // SciPy 1.10's choice (method "auto"): exact when there are at most 50 pairs, counted
  // before zeros are dropped, and no difference is zero; otherwise the normal approximation
  // on the non-zero differences (zero_method "wilcox"). Ties do not change the choice.
  std::vector<double> d;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] - b[i] != 0.0) d.push_back(a[i] - b[i]);
  const bool exact = a.size() <= 50 && d.size() == a.size();
  const std::size_t n = d.size();
  if (n == 0) return kNaN;  // every difference zero: SciPy raises
  // Ranks of |d| with ties averaged.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return std::fabs(d[i]) < std::fabs(d[j]); });
  std::vector<double> rank(n);
  double tie_term = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && std::fabs(d[order[j + 1]]) == std::fabs(d[order[i]])) ++j;
    const double average = (static_cast<double>(i + j) / 2.0) + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = average;
    const double t = static_cast<double>(j - i + 1);
    tie_term += t * t * t - t;
    i = j + 1;
  }
  double w_plus = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (d[i] > 0) w_plus += rank[i];
  const double total = static_cast<double>(n) * static_cast<double>(n + 1) / 2.0;
  if (exact) {
    // Exact null distribution of W+ by dynamic programming over ranks 1..n. With ties the
    // rank sum can end in .5; SciPy truncates it to an integer, and so do we.
    const long max_sum = static_cast<long>(total);
    std::vector<double> counts(static_cast<std::size_t>(max_sum) + 1, 0.0);
    counts[0] = 1.0;
    for (std::size_t r = 1; r <= n; ++r)
      for (long s = max_sum; s >= static_cast<long>(r); --s)
        counts[static_cast<std::size_t>(s)] += counts[static_cast<std::size_t>(s) - r];
    const double scale = std::pow(2.0, static_cast<double>(n));
    const long r_plus = static_cast<long>(w_plus);
    if (r_plus == max_sum / 2) return 1.0;  // the centre of the distribution
    double p_less = 0, p_greater = 0;
    for (long s = 0; s <= max_sum; ++s) {
      const double p = counts[static_cast<std::size_t>(s)] / scale;
      if (s <= r_plus) p_less += p;
      if (s >= r_plus) p_greater += p;
    }
    return std::clamp(2.0 * std::min(p_less, p_greater), 0.0, 1.0);
  }
  const double statistic = std::min(w_plus, total - w_plus);
  const double mean = total / 2.0;
  const double variance = static_cast<double>(n) * (n + 1) * (2 * n + 1) / 24.0 - tie_term / 48.0;
  if (variance <= 0) return kNaN;
  const double z = (statistic - mean) / std::sqrt(variance);
  return std::min(1.0, std::erfc(std::fabs(z) / std::sqrt(2.0)));
}

namespace {

// The (1 − level)/2 and (1 + level)/2 quantiles of `values` (sorted here), numpy.percentile's
// default "linear" method.
std::pair<double, double> percentile_interval(std::vector<double>& values, double level) {
  std::sort(values.begin(), values.end());
  auto quantile = [&](double q) {
    const double position = q * static_cast<double>(values.size() - 1);
    const std::size_t below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    if (values[below] == values[above]) return values[below];  // also ±inf without inf − inf
    return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
  };
  return {quantile((1.0 - level) / 2.0), quantile((1.0 + level) / 2.0)};
}

}  // namespace

std::pair<double, double> bootstrap_mean_ci(const std::vector<double>& values, double level, int resamples,
                                            std::uint64_t seed) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (values.empty() || resamples < 1) return {kNaN, kNaN};
  std::uint64_t state = seed;
  const std::size_t n = values.size();
  std::vector<double> means(static_cast<std::size_t>(resamples));
  for (auto& mean : means) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += values[random::splitmix64(state) % n];
    mean = sum / static_cast<double>(n);
  }
  return percentile_interval(means, level);
}

std::pair<double, double> bootstrap_ratio_ci(const std::vector<double>& numerator, const std::vector<double>& denominator,
                                             double level, int resamples, std::uint64_t seed) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (numerator.empty() || numerator.size() != denominator.size() || resamples < 1) return {kNaN, kNaN};
  std::uint64_t state = seed;
  const std::size_t n = numerator.size();
  std::vector<double> ratios(static_cast<std::size_t>(resamples));
  for (auto& ratio : ratios) {
    double top = 0, bottom = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = random::splitmix64(state) % n;
      top += numerator[k];
      bottom += denominator[k];
    }
    ratio = top / bottom;
    if (std::isnan(ratio)) return {kNaN, kNaN};
  }
  return percentile_interval(ratios, level);
}

}  // namespace frerec::report
