// Portable draws from a std::mt19937_64 (the same numbers with every standard library,
// unlike std::uniform_*_distribution). Internal to augmentations/core.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace frerec::augmentations::detail {

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform integer in [0, n) (n > 0), by rejection so every value is equally likely.
inline std::uint64_t uniform_index(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

inline bool fair_coin(std::mt19937_64& rng) { return (rng() >> 63) != 0; }

// Exponential with the given mean (inverse CDF).
inline double exponential(std::mt19937_64& rng, double mean) { return -mean * std::log1p(-uniform01(rng)); }

}  // namespace frerec::augmentations::detail
