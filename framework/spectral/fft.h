// FFTW3-backed 2-D discrete Fourier transforms for the offline CPU path
// (shared/DESIGN.md §3 "FFT"), in float and double.
//
// Layout: a plane is H×W row-major (index y*W + x), the same layout as one channel of
// frerec::Image. Spectra are full complex H×W arrays (no half-spectrum), DC at [0,0]
// unless they were passed through fftshift2 (then DC sits at [H/2, W/2], integer division,
// exactly like numpy.fft.fftshift).
//
// Normalisation (numpy names): kOrtho scales both directions by 1/sqrt(H·W) (the default;
// Parseval holds exactly: sum |x|^2 == sum |X|^2), kBackward leaves the forward transform
// unscaled and scales the inverse by 1/(H·W), kForward the opposite.
//
// Plans: one FFTW plan per (precision, H, W, direction), created once with FFTW_ESTIMATE
// and kept for the life of the process in a plan cache. FFTW's planner is not
// thread-safe, so planning is serialised by a mutex; execution uses the new-array
// interface (fftw_execute_dft), which is thread-safe, on 16-byte-aligned buffers
// (misaligned or in-place arguments are copied through an aligned scratch buffer).
// Decision: out-of-place c2c plans only (no r2c) — simpler centring, and the cost is
// negligible next to retrieval.
#pragma once

#include <complex>
#include <cstddef>

namespace frerec::spectral {

enum class FftNorm { kOrtho, kBackward, kForward };
enum class FftDirection { kForward, kInverse };

// 2-D complex DFT of an H×W array. `in` and `out` may be the same array.
// Throws ConfigError for non-positive sizes.
template <typename Real>
void fft2(const std::complex<Real>* in, std::complex<Real>* out, int height, int width, FftDirection direction,
          FftNorm norm = FftNorm::kOrtho);

// Forward 2-D DFT of a real H×W plane (full complex output).
template <typename Real>
void fft2_real(const Real* in, std::complex<Real>* out, int height, int width, FftNorm norm = FftNorm::kOrtho);

// numpy.fft.fftshift / ifftshift over both axes; `in` and `out` must not alias.
template <typename T>
void fftshift2(const T* in, T* out, int height, int width) {
  const int sy = height / 2, sx = width / 2;
  for (int y = 0; y < height; ++y) {
    const int ty = (y + sy) % height;
    for (int x = 0; x < width; ++x) out[ty * width + (x + sx) % width] = in[y * width + x];
  }
}
template <typename T>
void ifftshift2(const T* in, T* out, int height, int width) {
  const int sy = height / 2, sx = width / 2;
  for (int y = 0; y < height; ++y) {
    const int ty = (y + sy) % height;
    for (int x = 0; x < width; ++x) out[y * width + x] = in[ty * width + (x + sx) % width];
  }
}

// Number of plans created so far (for tests of plan reuse).
std::size_t fft_plan_count();

}  // namespace frerec::spectral
