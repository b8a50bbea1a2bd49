// Internal to frerec_analysis (and its tests): the exact t-SNE objective.
#pragma once

#include <cstddef>
#include <vector>

namespace frerec::analysis::detail {

// KL(P‖Q) and its gradient for the Student-t kernel w = (1 + d²/α)^(−(α+1)/2), α = dof:
//   ∂C/∂yᵢ = 2(α+1)/α · Σⱼ (pᵢⱼ − wᵢⱼ/Z) uᵢⱼ (yᵢ − yⱼ),  u = (1 + d²/α)⁻¹,  Z = Σ_{i≠j} w.
// Per row: attraction Aᵢ = Σ p u (yᵢ − yⱼ), repulsion Bᵢ = Σ w u (yᵢ − yⱼ), Σⱼ w and, when asked,
// Σⱼ p (ln p − ln w); Z and the gradient c (A − B/Z) follow after all rows, reduced in row
// order (thread-count independent). Q's clip at machine epsilon is not applied: it only
// touches pairs with q < 2.2e-16.
class TsneObjective {
 public:
  // p: N × N row-major joint probabilities (zero diagonal); dof = max(dims − 1, 1).
  TsneObjective(const std::vector<double>& p, std::size_t n, int dims, int threads);

  // y and gradient: dims columns of N values. Returns KL(exaggeration·P ‖ Q) when
  // `with_error`, NaN otherwise.
  double evaluate(const std::vector<std::vector<double>>& y, double exaggeration, bool with_error,
                  std::vector<std::vector<double>>& gradient);

 private:
  const std::vector<double>& p_;
  std::size_t n_;
  std::size_t dims_;
  int threads_;
  int dof_;
  std::vector<double> attraction_, repulsion_, kernel_sum_, kl_row_, p_sum_;
};

}  // namespace frerec::analysis::detail
