// The device the golden network tests run on: FREREC_TEST_DEVICE=cuda runs them on the GPU
// (scripts/gpu_check.sh), with TF32 off so that float32 means float32; the default is the CPU.
#pragma once

#include <ATen/ATen.h>

#include <cstdlib>

namespace frerec::testing {

inline at::Device test_device() {
  const char* name = std::getenv("FREREC_TEST_DEVICE");
  const at::Device device(name && *name ? name : "cpu");
  if (device.is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  return device;
}

}  // namespace frerec::testing
