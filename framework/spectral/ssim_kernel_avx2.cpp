// AVX2 + FMA build of the SSIM pair kernel (this file alone is compiled with
// -mavx2 -mfma; retrieval.cpp calls it only when the CPU reports both features).
#include "framework/spectral/ssim_kernel.h"

namespace frerec::spectral::detail::avx2 {
#include "framework/spectral/ssim_kernel_impl.inc"
}  // namespace frerec::spectral::detail::avx2
