// Baseline x86-64 (or any target) build of the SSIM pair kernel.
#include "framework/spectral/ssim_kernel.h"

namespace frerec::spectral::detail::generic {
#include "framework/spectral/ssim_kernel_impl.inc"
}  // namespace frerec::spectral::detail::generic
