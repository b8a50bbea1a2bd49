#include "models/classifiers/init.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace frerec::models::init {

at::Generator make_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

namespace {
int64_t receptive_field(const at::Tensor& w) {
  int64_t r = 1;
  for (int64_t d = 2; d < w.dim(); ++d) r *= w.size(d);
  return r;
}
void assign(at::Tensor& t, const at::Tensor& values) {
  at::NoGradGuard no_grad;
  t.copy_(values);
}
at::Tensor cpu_empty_like(const at::Tensor& t) { return at::empty(t.sizes(), at::TensorOptions().dtype(at::kFloat)); }
}  // namespace

int64_t fan_in(const at::Tensor& weight) { return weight.size(1) * receptive_field(weight); }
int64_t fan_out(const at::Tensor& weight) { return weight.size(0) * receptive_field(weight); }

void normal(at::Tensor t, double mean, double std, at::Generator& gen) {
  assign(t, cpu_empty_like(t).normal_(mean, std, gen));
}

void uniform(at::Tensor t, double low, double high, at::Generator& gen) {
  assign(t, cpu_empty_like(t).uniform_(low, high, gen));
}

void trunc_normal(at::Tensor t, double mean, double std, double low, double high, at::Generator& gen) {
  at::Tensor values = cpu_empty_like(t).normal_(mean, std, gen);
  // Redraw the (rare) samples outside [low, high] until none are left.
  for (;;) {
    at::Tensor outside = (values < low).logical_or(values > high);
    const int64_t n = outside.sum().item<int64_t>();
    if (n == 0) break;
    values.masked_scatter_(outside, at::empty({n}).normal_(mean, std, gen));
  }
  assign(t, values);
}

void constant(at::Tensor t, double value) {
  at::NoGradGuard no_grad;
  t.fill_(value);
}

void kaiming_normal_relu(at::Tensor weight, bool use_fan_out, at::Generator& gen) {
  const double fan = static_cast<double>(use_fan_out ? fan_out(weight) : fan_in(weight));
  normal(weight, 0.0, std::sqrt(2.0 / fan), gen);
}

void xavier_uniform(at::Tensor weight, at::Generator& gen) {
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in(weight) + fan_out(weight)));
  uniform(weight, -bound, bound, gen);
}

void linear_default(at::Tensor weight, at::Tensor bias, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
  uniform(weight, -bound, bound, gen);
  if (bias.defined()) uniform(bias, -bound, bound, gen);
}

}  // namespace frerec::models::init
