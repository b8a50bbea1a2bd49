// The `known_bias` synthetic source: a positive control for frequency recalibration.
//
//   data.synthetic: {name: known_bias, known_bias: {operator: checkerboard | blur | hf_noise | none, ...}}
//
// Its images are real images of the demo task that the benchmark never uses otherwise (the
// task's renderer with a split of their own, so disjoint from train and test), passed through
// a named, seeded frequency-bias operator. With `operator: none` they are the unbiased
// originals — the oracle pool that a perfect calibration would give back. The operators model
// the three generator biases the paper's argument is about:
//   checkerboard  2×2 box down-sampling, nearest ×2 up-sampling, then a 3×3 binomial smoothing
//                 ([1,2,1]ᵀ[1,2,1]/16): the periodic up-sampling artefact of transposed-conv
//                 generators (spectral replicas around half the sampling rate); `blend` mixes
//                 it with the original (1 = fully biased).
//   blur          Gaussian blur of `sigma` pixels at 64² (scaled with the image size): missing
//                 high frequencies.
//   hf_noise      adds high-pass Gaussian noise (white noise minus its 1-pixel Gaussian blur,
//                 rescaled to a standard deviation of `noise_std`), clamped to [0, 1]: excess
//                 high frequencies. Seeded per image (seed, class, index).
// Filters: framework/core/image_filter.h (reflect-101 borders, OpenCV's default).
#pragma once

#include <cstdint>
#include <string>

#include "framework/core/image.h"

namespace frerec::datasets {

struct BiasOptions {
  std::string op = "none";  // none | checkerboard | blur | hf_noise
  double blend = 1.0;       // checkerboard: weight of the biased image
  double sigma = 1.0;       // blur: Gaussian σ in pixels of a 64-pixel image
  double noise_std = 0.04;  // hf_noise: standard deviation of the added high-pass noise
};

// Applies the operator to `image` (values in [0, 1]); `seed` drives hf_noise only.
// ConfigError for an unknown operator or an odd-sized image under checkerboard.
Image apply_bias(const Image& image, const BiasOptions& options, std::uint64_t seed);

}  // namespace frerec::datasets
