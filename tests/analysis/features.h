// Deterministic feature matrices, the same formulas as tests/golden/analysis/features.py
// (which documents them): golden fixtures store only the generator parameters.
#pragma once

#include <cmath>
#include <cstdint>

#include "framework/analysis/analysis.h"

namespace frerec::analysis::testing {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline double uniform(std::uint64_t seed, std::uint64_t i, std::uint64_t j) {
  return static_cast<double>(splitmix64((seed << 40) ^ (i << 20) ^ j) >> 11) * 0x1.0p-53;
}

inline double normal(std::uint64_t seed, std::uint64_t i, std::uint64_t j) {
  const double u1 = 1.0 - uniform(seed, i, 2 * j);
  const double u2 = uniform(seed, i, 2 * j + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

constexpr std::uint64_t kLatent = (1u << 19) - 1;

inline Matrix correlated(std::uint64_t seed, std::size_t rows, std::size_t cols, double shift = 0.0,
                         double scale = 1.0, double mix = 0.0) {
  Matrix out(rows, cols);
  for (std::size_t i = 0; i < rows; ++i) {
    const double latent = normal(seed, i, kLatent);
    for (std::size_t j = 0; j < cols; ++j)
      out(i, j) = shift + scale * ((0.5 + uniform(seed + 1, 0, j)) * normal(seed, i, j) + mix * latent);
  }
  return out;
}

// center_seed: kDefaultCenterSeed means seed + 1.
constexpr std::uint64_t kDefaultCenterSeed = ~std::uint64_t{0};
inline Matrix blobs(std::uint64_t seed, std::size_t rows, std::size_t cols, std::size_t centers, double spread,
                    std::uint64_t center_seed = kDefaultCenterSeed) {
  if (center_seed == kDefaultCenterSeed) center_seed = seed + 1;
  Matrix out(rows, cols);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j)
      out(i, j) = 6.0 * normal(center_seed, i % centers, j) + spread * normal(seed, i, j);
  return out;
}

}  // namespace frerec::analysis::testing
