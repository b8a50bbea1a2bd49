// Separable filtering of Image (every channel, reflect-101 borders as OpenCV's default):
// the Gaussian blur of GDA + low-pass (augmentations/core/gda_lowpass.h) and of the known-bias
// positive control (datasets/demo/known_bias.h). Golden: scipy.ndimage.gaussian_filter
// (tests/augmentations/test_gda_lowpass.cpp) and OpenCV's GaussianBlur (tests/datasets).
#pragma once

#include <vector>

#include "framework/core/image.h"

namespace frerec {

// The normalised 1-D Gaussian kernel (2·ceil(3σ)+1 taps); sigma > 0 (ConfigError otherwise).
std::vector<float> gaussian_kernel(double sigma);
// Every channel convolved with the odd-length 1-D `kernel` along x, then along y.
Image convolve_separable(const Image& image, const std::vector<float>& kernel);
// Separable Gaussian blur of every channel; sigma 0 returns the image.
Image gaussian_blur(const Image& image, double sigma);

}  // namespace frerec
