// Internal to frerec_analysis: Eigen views of analysis::Matrix and small shared helpers.
#pragma once

#include <Eigen/Core>

#include <cstddef>

#include "framework/analysis/analysis.h"

namespace frerec::analysis::detail {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline Eigen::Map<const RowMatrix> view(const Matrix& m) {
  return Eigen::Map<const RowMatrix>(m.data.data(), static_cast<Eigen::Index>(m.rows),
                                     static_cast<Eigen::Index>(m.cols));
}

// Σ (a_k − b_k)², summed in index order (the brute-force reference value).
inline double squared_distance(const double* a, const double* b, std::size_t d) {
  double sum = 0.0;
  for (std::size_t k = 0; k < d; ++k) {
    const double diff = a[k] - b[k];
    sum += diff * diff;
  }
  return sum;
}

}  // namespace frerec::analysis::detail
