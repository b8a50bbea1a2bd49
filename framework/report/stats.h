// Paired significance tests across seeds for the Table 2 p-value column, equal to SciPy's
// with default arguments (Debian 12: SciPy 1.10.1; tests/golden/framework/stats_golden.json):
//  * scipy.stats.wilcoxon(a, b): two-sided; exact null distribution when there are at most 50
//    pairs and no zero difference (ties included: the tied rank sum is truncated to an
//    integer, as SciPy does); otherwise the normal approximation with tie correction and no
//    continuity correction on the non-zero differences (zero_method "wilcox"). NaN when every
//    difference is zero (SciPy raises).
//  * scipy.stats.ttest_rel(a, b): two-sided paired t-test; NaN for fewer than 2 pairs.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace frerec::report {

double wilcoxon_signed_rank_p(const std::vector<double>& a, const std::vector<double>& b);
double paired_t_test_p(const std::vector<double>& a, const std::vector<double>& b);
// Percentile bootstrap confidence interval of the mean of `values` (for Table 2: the mean
// paired ΔAUC over seeds): `resamples` resamples with replacement, indices drawn as
// SplitMix64(seed) % n, interval = the (1 − level)/2 and (1 + level)/2 quantiles of the
// resampled means with linear interpolation (numpy.percentile's default). Deterministic;
// tests/golden/framework/make_stats_golden.py reimplements it. {NaN, NaN} when empty.
std::pair<double, double> bootstrap_mean_ci(const std::vector<double>& values, double level = 0.95,
                                            int resamples = 10000, std::uint64_t seed = 0);

// Percentile bootstrap interval of a ratio of paired means, Σ numerator / Σ denominator over
// the same resampled indices (the positive control's recovery fraction, seeds resampled as
// pairs): the draws and quantiles of bootstrap_mean_ci. {NaN, NaN} when empty, when the
// sizes differ or when a resample's denominator sums to 0 with a zero numerator (0/0).
std::pair<double, double> bootstrap_ratio_ci(const std::vector<double>& numerator, const std::vector<double>& denominator,
                                             double level = 0.95, int resamples = 10000, std::uint64_t seed = 0);

// Regularised incomplete beta I_x(a, b) and the Student-t two-sided tail.
double incomplete_beta(double a, double b, double x);
double student_t_two_sided_p(double t, double degrees_of_freedom);

}  // namespace frerec::report
