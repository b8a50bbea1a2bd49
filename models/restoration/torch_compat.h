// LibTorch 1.13 (Debian, CPU) and 2.x (upstream, CUDA) differ in a few spellings our code
// uses; the differences are kept here. See the README section "GPUs".
#pragma once

#include <torch/version.h>

#include <optional>

// An absent optional argument (e.g. fft2's signal size). 1.13's optionals are c10::optional,
// a type of their own; from 2.2 on c10::optional is an alias of std::optional and
// c10::nullopt a deprecated alias slated for removal.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
#define FREREC_TORCH_NULLOPT std::nullopt
#else
#define FREREC_TORCH_NULLOPT c10::nullopt
#endif
