// Paired significance tests across seeds for the Table 2 p-value column:
// Wilcoxon signed-rank (exact two-sided distribution for n ≤ 50 without ties, as SciPy ≥ 1.9 does;
// normal approximation with tie correction otherwise; zero differences dropped as
// scipy's default zero_method="wilcox") and the paired t-test (two-sided).
#pragma once

#include <vector>

namespace frerec::report {

double wilcoxon_signed_rank_p(const std::vector<double>& a, const std::vector<double>& b);
double paired_t_test_p(const std::vector<double>& a, const std::vector<double>& b);
// Regularised incomplete beta I_x(a, b) and the Student-t two-sided tail.
double incomplete_beta(double a, double b, double x);
double student_t_two_sided_p(double t, double degrees_of_freedom);

}  // namespace frerec::report
