// Mix-up batch transform (see mixup.h).
#include "augmentations/core/mixup.h"

#include <ATen/ATen.h>

#include <cmath>
#include <string>

#include "framework/core/error.h"
#include "framework/core/random.h"

namespace frerec::augmentations {
namespace {

void check_alpha(double alpha) {
  if (!(alpha > 0.0) || !std::isfinite(alpha))
    throw ConfigError("mixup: alpha=" + std::to_string(alpha) +
                      " must be a positive number (Beta(alpha, alpha); 0.2 is the ImageNet default)");
}

}  // namespace

MixupDraw draw_mixup(double alpha, std::int64_t n, std::mt19937_64& rng) {
  check_alpha(alpha);
  MixupDraw draw;
  // libstdc++'s std::gamma_distribution, which drew λ before; both draws share its normal's
  // saved value, as they did.
  random::GammaDistribution gamma(alpha, 1.0);
  const double x = gamma(rng);
  const double y = gamma(rng);
  // Both gammas can underflow to 0 for tiny α; Beta(α, α) then puts its mass at 0 and 1.
  draw.lambda = (x + y) > 0.0 ? x / (x + y) : (random::fair_coin(rng) ? 1.0 : 0.0);
  draw.permutation.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) draw.permutation[static_cast<std::size_t>(i)] = i;
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(random::uniform_index(rng, static_cast<std::uint64_t>(i + 1)));
    std::swap(draw.permutation[static_cast<std::size_t>(i)], draw.permutation[static_cast<std::size_t>(j)]);
  }
  return draw;
}

void apply_mixup(train::Batch& batch, const MixupDraw& draw) {
  const std::int64_t n = batch.images.size(0);
  FREREC_ASSERT(static_cast<std::int64_t>(draw.permutation.size()) == n, "mixup permutation size differs from the batch");
  if (!batch.targets.defined())
    throw ConfigError("mixup: the batch has no soft targets; set trainer.num_classes (mixup mixes the targets)");
  const at::Tensor index =
      at::from_blob(const_cast<std::int64_t*>(draw.permutation.data()), {n}, at::kLong).clone().to(batch.images.device());
  const double lambda = draw.lambda;
  batch.images = batch.images * lambda + batch.images.index_select(0, index) * (1.0 - lambda);
  batch.targets = batch.targets * lambda + batch.targets.index_select(0, index) * (1.0 - lambda);
}

MixupTransform::MixupTransform(double alpha) : alpha_(alpha) { check_alpha(alpha); }

void MixupTransform::apply(train::Batch& batch, std::mt19937_64& rng) const {
  apply_mixup(batch, draw_mixup(alpha_, batch.images.size(0), rng));
}

}  // namespace frerec::augmentations
