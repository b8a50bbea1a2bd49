// Centred spectra, frequency masks and spectral profiles (shared/DESIGN.md §3-§4).
//
// Layout: Spectrum<Real> holds one centred (fftshift-ed) complex spectrum per channel,
// [C,H,W] row-major like frerec::Image, DC at (H/2, W/2) (integer division, numpy's
// fftshift). Orthonormal normalisation unless a norm is passed.
//
// Frequency masks (decision, the paper only says "centre region with ratio r"): a bin at
// centred position (y, x) has signed frequencies ky = y − H/2, kx = x − W/2.
//   square: low ⇔ |ky| ≤ r·H/2 and |kx| ≤ r·W/2   (the centred (r·H)×(r·W) rectangle,
//           boundary bins included on both sides);
//   circle: low ⇔ ky² + kx² ≤ (r·min(H,W)/2)²     (circle of diameter r·min(H,W)).
// Both are symmetric under (ky,kx) → (−ky,−kx) (modulo the Nyquist row/column), so a
// real image whose HF amplitudes are changed symmetrically stays real after the inverse
// FFT. r must be in (0,1]; with the square mask r = 1 makes everything low frequency; the
// circle with r = 1 is the inscribed circle (corners stay high frequency).
//
// 1-D profile (Durall et al. 2020, REFERENCE.md "1-D power spectrum"): grayscale
// (0.2989 R + 0.5870 G + 0.1140 B; single-channel images as they are), scaled to the
// 0–255 range of their 8-bit inputs, unnormalised fft2, fftshift, +1e-8, 20·ln|F|,
// azimuthal mean per integer radius floor(hypot(x − (W−1)/2, y − (H−1)/2)), radius 0 and
// the outermost radius dropped (88 bins at 128²), then per-image min–max to [0,1]. Bin j
// holds integer radius j + 1.
//
// Spectral gap (our definition, the paper gives none): with P̄_A, P̄_B the mean 1-D
// profiles of two sets, gap = mean over bins j with radius(j) ≥ r·R_max of
// |P̄_A(j) − P̄_B(j)|, where R_max is the largest radius in the profile and r = 0.5 by
// default (the SHR mask ratio); `all_radii` is the same mean over every bin. Both are in
// units of the min–max-normalised profile (0 = identical mean profiles).
//
// Mean log spectrum of a set: the mean over images and channels of ln(|F_centred| + 1e-8)
// (orthonormal FFT), an H×W map in double (Fig. 1 style).
#pragma once

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/core/image.h"
#include "framework/core/image_store.h"
#include "framework/spectral/fft.h"

namespace frerec::spectral {

enum class MaskShape { kSquare, kCircle };
MaskShape parse_mask_shape(const std::string& name, const std::string& component);  // "square" | "circle"
const char* to_string(MaskShape shape);

template <typename Real>
struct Spectrum {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<std::complex<Real>> data;  // [C,H,W], centred
  std::size_t plane_size() const { return static_cast<std::size_t>(height) * width; }
  std::complex<Real>* plane(int c) { return data.data() + c * plane_size(); }
  const std::complex<Real>* plane(int c) const { return data.data() + c * plane_size(); }
};

// Centred spectrum of every channel. Throws ConfigError for an empty image.
template <typename Real>
Spectrum<Real> centred_spectrum(const Image& image, FftNorm norm = FftNorm::kOrtho);

// Exact inverse of centred_spectrum: ifftshift, inverse FFT, real part. No clipping.
template <typename Real>
Image inverse_centred_spectrum(const Spectrum<Real>& spectrum, FftNorm norm = FftNorm::kOrtho);

// Spectra of a batch, split across `threads` std::threads (same result for any count).
template <typename Real>
std::vector<Spectrum<Real>> centred_spectra(const std::vector<Image>& images, int threads,
                                            FftNorm norm = FftNorm::kOrtho);

// Element-wise views of a spectrum, same [C,H,W] layout.
template <typename Real>
std::vector<Real> amplitude(const Spectrum<Real>& spectrum);
template <typename Real>
std::vector<Real> phase(const Spectrum<Real>& spectrum);  // atan2(imag, real) in (−π, π]
template <typename Real>
std::vector<Real> log_amplitude(const Spectrum<Real>& spectrum, Real epsilon = Real(1e-8));  // ln(|F| + ε)

// H×W mask in the centred layout, 1 = low frequency, 0 = high frequency (rules above).
// Throws ConfigError when r is outside (0,1] or the size is not positive.
std::vector<std::uint8_t> low_frequency_mask(int height, int width, double ratio, MaskShape shape);

// Durall et al. 1-D profile of one image (see top). Requires H, W ≥ 4.
std::vector<double> azimuthal_profile(const Image& image);

// Mean of the per-image profiles of a set (all images must share one size).
std::vector<double> mean_azimuthal_profile(const std::vector<Image>& images, int threads);
// The same, read chunk by chunk from a store (bit-identical: summed in image order).
std::vector<double> mean_azimuthal_profile(const ImageStore& images, int threads);

struct SpectralGap {
  double high_band = 0.0;  // mean |ΔP̄| over radii ≥ r·R_max
  double all_radii = 0.0;  // mean |ΔP̄| over every radius
  int first_high_bin = 0;  // index of the first bin in the high band
  int bins = 0;
};
SpectralGap spectral_gap(const std::vector<double>& mean_profile_a, const std::vector<double>& mean_profile_b,
                         double ratio = 0.5);
// Convenience: mean profiles of both sets, then spectral_gap.
SpectralGap spectral_gap(const std::vector<Image>& set_a, const std::vector<Image>& set_b, int threads,
                         double ratio = 0.5);

// Mean over images and channels of ln(|F_centred| + 1e-8), H×W row-major.
std::vector<double> mean_log_spectrum(const std::vector<Image>& images, int threads);

}  // namespace frerec::spectral
