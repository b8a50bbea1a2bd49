// Matrix helpers shared by the analysis functions (framework/analysis/analysis.h).
#include <fmt/format.h>

#include <cmath>

#include "framework/analysis/analysis.h"
#include "framework/core/error.h"

namespace frerec::analysis {

Matrix vstack(const Matrix& a, const Matrix& b) {
  if (a.rows == 0 && a.cols == 0) return b;
  if (b.rows == 0 && b.cols == 0) return a;
  if (a.cols != b.cols) {
    throw ConfigError(fmt::format("analysis: vstack of matrices with {} and {} columns; both feature sets must "
                                  "come from the same feature extractor (same dimension)",
                                  a.cols, b.cols));
  }
  for (const Matrix* m : {&a, &b}) {
    if (m->data.size() != m->rows * m->cols) {
      throw ConfigError(fmt::format("analysis: vstack of a matrix that claims {} × {} but holds {} values; build "
                                    "it with Matrix(rows, cols)",
                                    m->rows, m->cols, m->data.size()));
    }
  }
  Matrix out(a.rows + b.rows, a.cols);
  std::copy(a.data.begin(), a.data.end(), out.data.begin());
  std::copy(b.data.begin(), b.data.end(), out.data.begin() + static_cast<std::ptrdiff_t>(a.data.size()));
  return out;
}

void validate_matrix(const Matrix& m, const std::string& what, std::size_t min_rows) {
  if (m.data.size() != m.rows * m.cols) {
    throw ConfigError(fmt::format("{}: matrix claims {} × {} but holds {} values; build it with Matrix(rows, cols)",
                                  what, m.rows, m.cols, m.data.size()));
  }
  if (m.rows < min_rows) {
    throw ConfigError(fmt::format("{}: {} rows, at least {} needed; pass more feature vectors", what, m.rows,
                                  min_rows));
  }
  if (m.rows > 0 && m.cols == 0) {
    throw ConfigError(fmt::format("{}: {} rows with 0 features; pass a matrix with at least one column", what,
                                  m.rows));
  }
  for (std::size_t i = 0; i < m.data.size(); ++i) {
    if (!std::isfinite(m.data[i])) {
      throw RunError(fmt::format("{}: feature value {} at row {}, column {} is not finite; check the feature "
                                 "extractor's output (NaN activations) before the analysis",
                                 what, m.data[i], i / m.cols, i % m.cols));
    }
  }
}

}  // namespace frerec::analysis
