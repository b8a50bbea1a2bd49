// The project's random numbers: seed mixing, the xoshiro256** generator of the datasets, and
// every draw made from a std::mt19937_64. All of it is computed here rather than with
// <random>'s distributions or std::shuffle, whose algorithms the standard leaves to each
// library (libstdc++, libc++ and MSVC give different numbers for the same engine state),
// so a seed means the same images, folds and training order with every standard library.
// The engines themselves (std::mt19937_64, std::seed_seq) are fully specified by the
// standard and stay std. Floating-point results also depend on the math library's
// log/sin/cos/pow/log1p (sqrt is exact everywhere); glibc's are what the committed results
// were made with.
//
// Two groups, each function keeping the algorithm its callers were written with:
//   * our own draws (uniform01, uniform_index, ..., Xoshiro256): chosen for this project;
//   * replicas of libstdc++ 12's std distributions and std::shuffle (generate_canonical,
//     uniform_int, NormalDistribution, GammaDistribution, shuffle): the code that used the std
//     versions keeps exactly the numbers it produced on libstdc++, now on every library.
//     tests/framework/test_random.cpp checks them bit for bit against the std ones on
//     libstdc++. Sources: /usr/include/c++/12/bits/random.tcc, uniform_int_dist.h, stl_algo.h.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <random>
#include <string>
#include <utility>

namespace frerec::random {

// ---------------------------------------------------------------------------------------
// Seeds

// Weyl increment of SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom
// number generators"; constants from Vigna's splitmix64.c).
inline constexpr std::uint64_t kSplitMixGamma = 0x9E3779B97F4A7C15ULL;

// SplitMix64's output function (variant 13 of Stafford's MurmurHash3 finaliser).
inline std::uint64_t splitmix64_finalize(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// One SplitMix64 step: advances `state` and returns the next output.
inline std::uint64_t splitmix64(std::uint64_t& state) { return splitmix64_finalize(state += kSplitMixGamma); }

// The SplitMix64 output for state x (stateless; mix64(x) == splitmix64(s) with s == x).
inline std::uint64_t mix64(std::uint64_t x) { return splitmix64_finalize(x + kSplitMixGamma); }

// The trainer's seed for one purpose, e.g. derive_seed(seed, {kSampleStream, epoch, index}):
// every part is mixed on its own before it enters the chain, so seeds for different
// purposes (different first parts) never coincide by construction.
inline std::uint64_t derive_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> parts) {
  std::uint64_t h = mix64(seed);
  for (std::uint64_t part : parts) h = mix64(h ^ mix64(part + 0x632BE59BD9B4E019ULL));
  return h;
}

// The datasets' seed of several integers: a SplitMix64 chain with each value xored in.
inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0, std::uint64_t d = 0) {
  std::uint64_t s = a;
  std::uint64_t h = splitmix64(s);
  s = h ^ b;
  h = splitmix64(s);
  s = h ^ c;
  h = splitmix64(s);
  s = h ^ d;
  return splitmix64(s);
}

// A seed from a text tag: 64-bit FNV-1a (Fowler, Noll & Vo).
inline std::uint64_t tag_seed(const std::string& tag) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : tag) h = (h ^ ch) * 1099511628211ULL;
  return h;
}

// The high and low 64 bits of the 128-bit product a·b.
struct Product128 {
  std::uint64_t high, low;
};
// From four 32-bit partial products, for compilers without a 128-bit integer.
inline Product128 multiply_64x64_by_parts(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
  const std::uint64_t middle = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;  // < 2^64: no carry lost
  return {hi_hi + (hi_lo >> 32) + (middle >> 32), (middle << 32) | (lo_lo & 0xFFFFFFFFULL)};
}
inline Product128 multiply_64x64(std::uint64_t a, std::uint64_t b) {
#ifdef __SIZEOF_INT128__
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return {static_cast<std::uint64_t>(p >> 64), static_cast<std::uint64_t>(p)};
#else
  return multiply_64x64_by_parts(a, b);
#endif
}

// ---------------------------------------------------------------------------------------
// xoshiro256** (Blackman & Vigna 2018, "Scrambled linear pseudorandom number generators";
// reference code prng.di.unimi.it/xoshiro256starstar.c), seeded by four SplitMix64 outputs.
// The datasets' generator (demo images, sampling) and the generators' noise draws.
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed) {
    std::uint64_t s = seed;
    for (auto& word : state_) word = splitmix64(s);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [0, n) for n > 0 by Lemire's multiply-shift, high half of next()·n, without the
  // rejection step (Lemire 2019, "Fast random integer generation in an interval"): one draw,
  // a bias below n/2^64, which the datasets accept.
  std::uint64_t below(std::uint64_t n) { return multiply_64x64(next(), n).high; }
  // Integer in [lo, hi] (lo ≤ hi), from below().
  int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::uint64_t>(hi - lo + 1))); }
  bool chance(double p) { return uniform() < p; }
  // Standard normal by Box–Muller (u1 redrawn while 0, 2π·u2): the cosine value is returned,
  // the sine value kept for the next call.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(6.283185307179586 * u2);
    has_spare_ = true;
    return r * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// ---------------------------------------------------------------------------------------
// Our own draws from a std::mt19937_64 (trainer, augmentations, metrics, analysis).

// Uniform in [0, 1): the top 53 bits of one output, times 2^-53.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Integer in [0, n) for n > 0, unbiased: outputs at or above the largest multiple of n that
// fits (2^64 − 1 − (2^64 − 1) mod n) are redrawn, the accepted one is taken mod n.
inline std::uint64_t uniform_index(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

// Integer in [0, n) for n > 0, unbiased by the other rejection rule: outputs below
// 2^64 mod n are redrawn, the accepted one is taken mod n (OpenBSD's arc4random_uniform;
// O'Neill 2018, "Efficiently generating a number in a range"). The probe's fold shuffle was
// written with it; it accepts different outputs than uniform_index, so the two give
// different sequences and are not interchangeable.
inline std::uint64_t uniform_index_reject_low(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;
  for (;;) {
    const std::uint64_t x = rng();
    if (x >= threshold) return x % n;
  }
}

// true or false with probability 1/2 each: the top bit of one output.
inline bool fair_coin(std::mt19937_64& rng) { return (rng() >> 63) != 0; }

// Exponential with the given mean, by the inverse CDF −mean·log(1 − u), u = uniform01.
inline double exponential(std::mt19937_64& rng, double mean) { return -mean * std::log1p(-uniform01(rng)); }

// Box–Muller from two uniform01 outputs: radius √(−2·log(1 − u1)) (1 − u1 is never 0) and
// angle 2π·u2. radius·cos(angle) and radius·sin(angle) are independent standard normals;
// callers form the products themselves so each keeps the order of its multiplications.
struct BoxMuller {
  double radius, angle;
};
inline BoxMuller box_muller(std::mt19937_64& rng) {
  const double u1 = 1.0 - uniform01(rng);
  const double u2 = uniform01(rng);
  return {std::sqrt(-2.0 * std::log(u1)), 2.0 * M_PI * u2};
}

// ---------------------------------------------------------------------------------------
// libstdc++ 12's algorithms for std::mt19937_64, reproduced exactly.

// std::generate_canonical<double, 53>(rng), as std::uniform_real_distribution<double>(0, 1)
// draws it: one output (⌈53 / 64⌉ = 1), converted to double with rounding to nearest, times
// 2^-64; a result that rounded up to 1 becomes the largest double below 1.
inline double generate_canonical(std::mt19937_64& rng) {
  const double u = static_cast<double>(rng()) * 0x1.0p-64;
  return u >= 1.0 ? 0x1.fffffffffffffp-1 : u;
}

// The value in [0, range] of std::uniform_int_distribution<std::uint64_t>(0, range): the
// full range is one output; any smaller one is Lemire's multiply-shift with rejection
// (libstdc++'s _S_nd, used because the engine's range is exactly 64 bits): the high half of
// x·(range + 1), redrawn while the low half is below 2^64 mod (range + 1).
inline std::uint64_t uniform_uint64(std::mt19937_64& rng, std::uint64_t range) {
  if (range == UINT64_MAX) return rng();
  const std::uint64_t n = range + 1;
  Product128 product = multiply_64x64(rng(), n);
  if (product.low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (product.low < threshold) product = multiply_64x64(rng(), n);
  }
  return product.high;
}

// std::uniform_int_distribution<int>(lo, hi)(rng) for lo ≤ hi.
inline int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  const std::uint64_t range = static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo);
  return static_cast<int>(static_cast<std::int64_t>(lo) + static_cast<std::int64_t>(uniform_uint64(rng, range)));
}

// std::normal_distribution<double>: Marsaglia's polar method. Each pair of accepted uniforms
// gives two values; the second is kept in the object and returned by the next call.
class NormalDistribution {
 public:
  explicit NormalDistribution(double mean = 0.0, double stddev = 1.0) : mean_(mean), stddev_(stddev) {}
  double operator()(std::mt19937_64& rng);

 private:
  double mean_, stddev_;
  double saved_ = 0.0;
  bool saved_available_ = false;
};

// std::gamma_distribution<double>(alpha, beta): Marsaglia & Tsang (2000), "A simple method for
// generating gamma variables", with its normals from the object's own NormalDistribution
// (so consecutive draws share its saved value); for alpha < 1 a draw for alpha + 1 times
// u^(1/alpha).
class GammaDistribution {
 public:
  explicit GammaDistribution(double alpha = 1.0, double beta = 1.0);
  double operator()(std::mt19937_64& rng);

 private:
  double alpha_, beta_;
  double boosted_alpha_;  // alpha, or alpha + 1 when alpha < 1
  double a2_;             // 1/√(9·(boosted_alpha − 1/3))
  NormalDistribution normal_;
};

// std::shuffle(first, last, rng) on a random-access range: Fisher–Yates from the front; while
// n² fits in the engine's range, two swap positions come from one draw in [0, (i+1)(i+2)),
// split by division (after one single swap first when n is even).
template <typename RandomIt>
void shuffle(RandomIt first, RandomIt last, std::mt19937_64& rng) {
  if (first == last) return;
  const std::uint64_t n = static_cast<std::uint64_t>(last - first);
  RandomIt i = first + 1;
  if (UINT64_MAX / n >= n) {
    if (n % 2 == 0) {
      std::iter_swap(i, first + static_cast<std::ptrdiff_t>(uniform_uint64(rng, 1)));
      ++i;
    }
    while (i != last) {
      const std::uint64_t swap_range = static_cast<std::uint64_t>(i - first) + 1;
      const std::uint64_t x = uniform_uint64(rng, swap_range * (swap_range + 1) - 1);
      std::iter_swap(i, first + static_cast<std::ptrdiff_t>(x / (swap_range + 1)));
      ++i;
      std::iter_swap(i, first + static_cast<std::ptrdiff_t>(x % (swap_range + 1)));
      ++i;
    }
    return;
  }
  for (; i != last; ++i)
    std::iter_swap(i, first + static_cast<std::ptrdiff_t>(uniform_uint64(rng, static_cast<std::uint64_t>(i - first))));
}

}  // namespace frerec::random
