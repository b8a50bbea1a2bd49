// Internal: the single-precision SSIM pair kernel behind the fast top-K retrieval.
// Compiled twice from ssim_kernel_impl.inc — once for baseline x86-64 (SSE2) and once with
// AVX2+FMA — and chosen at run time (retrieval.cpp), so the library runs on any x86-64.
//
// Per image and channel the caller precomputes (see retrieval.cpp):
//   centred  H×W      x − m (m = the channel's global mean; centring keeps the cross term
//                     G*(x·y) small, so its cancellation against μx·μy loses less precision)
//   mu       Hv×Wv    G*(x − m) over valid windows (Hv = H−n+1, Wv = W−n+1)
//   var      Hv×Wv    covariance_norm · (G*(x²) − (G*x)²), computed in double
// The kernel then needs only the cross term G*(x'·y') per pair.
#pragma once

namespace frerec::spectral::detail {

struct KernelPlane {
  const float* centred;
  const float* mu;
  const float* var;
  float mean;
};

struct KernelShape {
  int height, width;     // image plane
  const float* taps;     // n normalised weights (symmetric)
  int ntaps;
  float covariance_norm;
  float c1, c2;
};

// Scratch floats the kernel needs for one call.
inline long kernel_scratch_size(const KernelShape& s) { return static_cast<long>(s.ntaps + 2) * s.width + 64; }

// Sum over valid windows of the SSIM map of one channel of x against one channel of each
// of `count` references ys[0..count) (double accumulation); writes sums[j].
namespace generic {
void ssim_sums(const KernelShape& shape, const KernelPlane& x, const KernelPlane* ys, int count, float* scratch,
               double* sums);
}
namespace avx2 {
void ssim_sums(const KernelShape& shape, const KernelPlane& x, const KernelPlane* ys, int count, float* scratch,
               double* sums);
}

}  // namespace frerec::spectral::detail
