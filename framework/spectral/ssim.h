// Structural similarity (Wang et al. 2004), matching skimage.metrics.structural_similarity
// (shared/DESIGN.md §4 "SSIM definition"; REFERENCE.md "SSIM").
//
//   gaussian (default): 11-tap Gaussian, σ = 1.5, truncate 3.5, population covariance
//                       (skimage gaussian_weights=True, use_sample_covariance=False);
//   uniform:            7×7 box, sample covariance ×NP/(NP−1), NP = 49 (skimage default).
// K1 = 0.01, K2 = 0.03, data range 1. skimage filters with 'reflect' borders and then
// crops (win−1)/2 pixels from every border before averaging, so only windows that lie
// fully inside the image count: we evaluate exactly those ("valid" windows) and never
// touch a border rule. Multichannel = mean of the per-channel SSIM. Images need
// H, W ≥ window size (11 or 7), as in skimage.
//
// `ssim` is the exact reference, computed in double. The fast top-K retrieval
// (retrieval.h) uses single precision with double accumulation and agrees with it to
// about 1e-6 (tested to 1e-5).
#pragma once

#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::spectral {

enum class SsimWindow { kGaussian, kUniform };
SsimWindow parse_ssim_window(const std::string& name, const std::string& component);  // "gaussian" | "uniform"
const char* to_string(SsimWindow window);

struct SsimSettings {
  int size = 11;                 // window side (taps per axis)
  double covariance_norm = 1.0;  // 1 (population) or NP/(NP−1) (sample)
  std::vector<double> taps;      // normalised 1-D weights, applied along both axes
  static constexpr double kC1 = 0.01 * 0.01;  // (K1·L)², L = 1
  static constexpr double kC2 = 0.03 * 0.03;  // (K2·L)²
};
SsimSettings ssim_settings(SsimWindow window);

// Valid separable correlation of an H×W plane with `taps` along both axes, in double:
// (H−n+1)×(W−n+1) output; `tmp` holds (H−n+1)×W values.
void filter_valid(const double* in, int height, int width, const std::vector<double>& taps, double* tmp,
                  double* out);

// Mean SSIM of two images of the same shape. Throws ConfigError naming both shapes when
// they differ or are smaller than the window, RunError on non-finite pixels.
double ssim(const Image& a, const Image& b, SsimWindow window = SsimWindow::kGaussian);

}  // namespace frerec::spectral
