// The deterministic parameter fill of tests/golden/models/make_golden.py (its docstring
// states the formula), so logits can be compared with torchvision without committing
// weight files of hundreds of megabytes.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace torch::nn {
class Module;
}

namespace frerec::models::testing {

// u(seed, t, i) in [-1, 1).
double deterministic_uniform(uint64_t seed, uint64_t t, uint64_t i);
// Sets every parameter and buffer of `module`, in state_dict() order, from the formula.
void deterministic_fill(torch::nn::Module& module, uint64_t seed);
// The input batch: (u(seed, 0xFFFF, i) + 1) / 2.
at::Tensor deterministic_input(uint64_t seed, const std::vector<int64_t>& shape);

}  // namespace frerec::models::testing
