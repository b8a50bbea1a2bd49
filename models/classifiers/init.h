// Seeded parameter initialisers matching torch.nn.init (used by the backbones'
// reset_parameters). Values are drawn on the CPU from an explicit generator and copied
// into the tensor, so a CUDA model gets the same numbers as a CPU one.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace frerec::models::init {

at::Generator make_generator(uint64_t seed);

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch.nn.init).
int64_t fan_in(const at::Tensor& weight);
int64_t fan_out(const at::Tensor& weight);

void normal(at::Tensor t, double mean, double std, at::Generator& gen);
void uniform(at::Tensor t, double low, double high, at::Generator& gen);
// Normal(mean, std) truncated to [low, high] by redrawing, like torch.nn.init.trunc_normal_.
void trunc_normal(at::Tensor t, double mean, double std, double low, double high, at::Generator& gen);
void constant(at::Tensor t, double value);
// kaiming_normal_(mode="fan_out" or "fan_in", nonlinearity="relu"): std = sqrt(2 / fan).
void kaiming_normal_relu(at::Tensor weight, bool use_fan_out, at::Generator& gen);
// xavier_uniform_: bound = sqrt(6 / (fan_in + fan_out)).
void xavier_uniform(at::Tensor weight, at::Generator& gen);
// nn.Linear / nn.Conv default reset_parameters: weight and bias U(-1/sqrt(fan_in), +).
void linear_default(at::Tensor weight, at::Tensor bias, at::Generator& gen);

}  // namespace frerec::models::init
