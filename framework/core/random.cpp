// libstdc++ 12's normal and gamma distributions for std::mt19937_64 (see random.h). The
// expressions keep libstdc++'s operand order (random.tcc), so every rounding is the same.
#include "framework/core/random.h"

namespace frerec::random {

double NormalDistribution::operator()(std::mt19937_64& rng) {
  double value;
  if (saved_available_) {
    saved_available_ = false;
    value = saved_;
  } else {
    double x, y, r2;
    do {
      x = 2.0 * generate_canonical(rng) - 1.0;
      y = 2.0 * generate_canonical(rng) - 1.0;
      r2 = x * x + y * y;
    } while (r2 > 1.0 || r2 == 0.0);
    const double mult = std::sqrt(-2 * std::log(r2) / r2);
    saved_ = x * mult;
    saved_available_ = true;
    value = y * mult;
  }
  return value * stddev_ + mean_;
}

GammaDistribution::GammaDistribution(double alpha, double beta)
    : alpha_(alpha), beta_(beta), boosted_alpha_(alpha < 1.0 ? alpha + 1.0 : alpha) {
  a2_ = 1.0 / std::sqrt(9.0 * (boosted_alpha_ - 1.0 / 3.0));
}

double GammaDistribution::operator()(std::mt19937_64& rng) {
  const double a1 = boosted_alpha_ - 1.0 / 3.0;
  double u, v, n;
  do {
    do {
      n = normal_(rng);
      v = 1.0 + a2_ * n;
    } while (v <= 0.0);
    v = v * v * v;
    u = generate_canonical(rng);
  } while (u > 1.0 - 0.0331 * n * n * n * n && (std::log(u) > (0.5 * n * n + a1 * (1.0 - v + std::log(v)))));
  if (alpha_ == boosted_alpha_) return a1 * v * beta_;
  do
    u = generate_canonical(rng);
  while (u == 0.0);
  return std::pow(u, 1.0 / alpha_) * a1 * v * beta_;
}

}  // namespace frerec::random
