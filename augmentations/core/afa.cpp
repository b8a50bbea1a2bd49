// AFA noise, batch transform, auxiliary BatchNorm routing and the two-branch step (afa.h).
#include "augmentations/core/afa.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "framework/core/error.h"
#include "framework/core/random.h"

namespace frerec::augmentations {
namespace {

constexpr double kPi = 3.14159265358979323846;

// linspace(−n/2, n/2, n)[i]
double centred_coordinate(int n, int i) {
  if (n == 1) return -0.5;
  return -0.5 * n + static_cast<double>(i) * n / (n - 1);
}

// Adds the AFA noise to one channel plane in place.
void add_noise(float* plane, int height, int width, const AfaOptions& options, std::mt19937_64& rng, AfaDraw* out) {
  const int size = std::max(height, width);
  AfaDraw draw;
  draw.k = 1 + static_cast<int>(random::uniform_index(rng, static_cast<std::uint64_t>(size)));
  draw.direction = static_cast<int>(random::uniform_index(rng, static_cast<std::uint64_t>(options.granularity)));
  draw.strength = random::exponential(rng, options.mean_strength) + options.min_strength;
  const double omega = options.granularity > 1 ? -kPi * draw.direction / (options.granularity - 1) : 0.0;
  const std::vector<float> wave = fourier_basis_wave(height, width, static_cast<double>(draw.k) / size, omega);
  const double amplitude = draw.strength * size / 32.0;
  for (std::size_t i = 0; i < wave.size(); ++i)
    plane[i] = static_cast<float>(std::clamp(plane[i] + amplitude * wave[i], 0.0, 1.0));
  if (out != nullptr) *out = draw;
}

void check_options(const AfaOptions& options) {
  if (!(options.mean_strength > 0.0) || !std::isfinite(options.mean_strength))
    throw ConfigError("afa: mean_strength=" + std::to_string(options.mean_strength) +
                      " must be positive (the exponential's mean; 10 in the ImageNet example)");
  if (!(options.min_strength >= 0.0) || !std::isfinite(options.min_strength))
    throw ConfigError("afa: min_strength=" + std::to_string(options.min_strength) + " must be ≥ 0");
  if (options.granularity < 1)
    throw ConfigError("afa: granularity=" + std::to_string(options.granularity) + " must be ≥ 1 (448 by default)");
}

}  // namespace

std::vector<float> fourier_basis_wave(int height, int width, double frequency, double omega) {
  FREREC_ASSERT(height > 0 && width > 0, "fourier_basis_wave needs a non-empty grid");
  std::vector<double> wave(static_cast<std::size_t>(height) * width);
  const double c = std::cos(omega), s = std::sin(omega);
  // sin(a_i + b_j) = sin a_i · cos b_j + cos a_i · sin b_j with a_i = 2πf·x_i·cos ω − π/4 and
  // b_j = 2πf·y_j·sin ω: O(H + W) trigonometric calls instead of O(H·W).
  std::vector<double> sin_b(static_cast<std::size_t>(width)), cos_b(static_cast<std::size_t>(width));
  for (int j = 0; j < width; ++j) {
    const double b = 2.0 * kPi * frequency * centred_coordinate(width, j) * s;
    sin_b[static_cast<std::size_t>(j)] = std::sin(b);
    cos_b[static_cast<std::size_t>(j)] = std::cos(b);
  }
  double norm2 = 0.0;
  for (int i = 0; i < height; ++i) {
    const double a = 2.0 * kPi * frequency * centred_coordinate(height, i) * c - kPi / 4.0;
    const double sin_a = std::sin(a), cos_a = std::cos(a);
    double* row = wave.data() + static_cast<std::size_t>(i) * width;
    for (int j = 0; j < width; ++j) {
      const double v = sin_a * cos_b[static_cast<std::size_t>(j)] + cos_a * sin_b[static_cast<std::size_t>(j)];
      row[j] = v;
      norm2 += v * v;
    }
  }
  const double norm = std::sqrt(norm2);
  std::vector<float> out(wave.size());
  for (std::size_t i = 0; i < wave.size(); ++i) out[i] = norm > 0.0 ? static_cast<float>(wave[i] / norm) : 0.0f;
  return out;
}

Image afa_augment(const Image& image, const AfaOptions& options, std::mt19937_64& rng, std::vector<AfaDraw>* draws) {
  Image out = image;
  if (draws != nullptr) draws->assign(static_cast<std::size_t>(image.channels), AfaDraw{});
  for (int c = 0; c < image.channels; ++c)
    add_noise(out.plane(c), image.height, image.width, options, rng,
              draws != nullptr ? &(*draws)[static_cast<std::size_t>(c)] : nullptr);
  return out;
}

AfaBatchTransform::AfaBatchTransform(AfaOptions options) : options_(options) { check_options(options_); }

void AfaBatchTransform::apply(train::Batch& batch, std::mt19937_64& rng) const {
  if (!batch.images.defined() || batch.images.dim() != 4)
    throw RunError("afa: expected a batch of images [N,C,H,W]");
  at::Tensor view = batch.images.to(at::kFloat).contiguous().clone();
  const auto n = view.size(0), channels = view.size(1);
  const int height = static_cast<int>(view.size(2)), width = static_cast<int>(view.size(3));
  float* data = view.data_ptr<float>();
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (std::int64_t i = 0; i < n * channels; ++i)
    add_noise(data + static_cast<std::size_t>(i) * plane, height, width, options_, rng, nullptr);
  batch.extra["afa"] = view;
}

namespace {

const char* const kAuxNames[] = {"aux_weight", "aux_bias", "aux_running_mean", "aux_running_var",
                                 "aux_num_batches_tracked"};

std::vector<torch::nn::BatchNorm2dImpl*> batchnorm_layers(torch::nn::Module& model) {
  std::vector<torch::nn::BatchNorm2dImpl*> layers;
  if (auto* self = dynamic_cast<torch::nn::BatchNorm2dImpl*>(&model)) layers.push_back(self);
  for (const auto& child : model.modules(/*include_self=*/false))
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(child.get())) layers.push_back(bn);
  return layers;
}

// The tensor registered under `name` on `bn` (parameter or buffer), or undefined.
at::Tensor find_tensor(torch::nn::Module& bn, const std::string& name) {
  const auto parameters = bn.named_parameters(/*recurse=*/false);
  if (const auto* p = parameters.find(name)) return *p;
  const auto buffers = bn.named_buffers(/*recurse=*/false);
  if (const auto* b = buffers.find(name)) return *b;
  return at::Tensor();
}

}  // namespace

int attach_auxiliary_batchnorm(torch::nn::Module& model) {
  const auto layers = batchnorm_layers(model);
  torch::NoGradGuard no_grad;
  for (auto* bn : layers) {
    if (find_tensor(*bn, kAuxNames[2]).defined() || find_tensor(*bn, kAuxNames[0]).defined()) continue;  // attached
    if (bn->weight.defined()) bn->register_parameter(kAuxNames[0], bn->weight.detach().clone());
    if (bn->bias.defined()) bn->register_parameter(kAuxNames[1], bn->bias.detach().clone());
    if (bn->running_mean.defined()) bn->register_buffer(kAuxNames[2], bn->running_mean.detach().clone());
    if (bn->running_var.defined()) bn->register_buffer(kAuxNames[3], bn->running_var.detach().clone());
    if (bn->num_batches_tracked.defined()) bn->register_buffer(kAuxNames[4], bn->num_batches_tracked.detach().clone());
  }
  return static_cast<int>(layers.size());
}

struct AuxiliaryBatchNormScope::Swap {
  torch::nn::BatchNorm2dImpl* bn;
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;  // the main tensors
};

AuxiliaryBatchNormScope::AuxiliaryBatchNormScope(torch::nn::Module& model) {
  for (auto* bn : batchnorm_layers(model)) {
    const at::Tensor aux_mean = find_tensor(*bn, kAuxNames[2]), aux_weight = find_tensor(*bn, kAuxNames[0]);
    if (!aux_mean.defined() && !aux_weight.defined()) continue;  // not attached: shared
    auto swap = std::make_unique<Swap>(
        Swap{bn, bn->weight, bn->bias, bn->running_mean, bn->running_var, bn->num_batches_tracked});
    if (bn->weight.defined()) bn->weight = aux_weight;
    if (bn->bias.defined()) bn->bias = find_tensor(*bn, kAuxNames[1]);
    if (bn->running_mean.defined()) bn->running_mean = aux_mean;
    if (bn->running_var.defined()) bn->running_var = find_tensor(*bn, kAuxNames[3]);
    if (bn->num_batches_tracked.defined()) bn->num_batches_tracked = find_tensor(*bn, kAuxNames[4]);
    swaps_.push_back(std::move(swap));
  }
}

AuxiliaryBatchNormScope::~AuxiliaryBatchNormScope() {
  for (auto& s : swaps_) {
    s->bn->weight = s->weight;
    s->bn->bias = s->bias;
    s->bn->running_mean = s->running_mean;
    s->bn->running_var = s->running_var;
    s->bn->num_batches_tracked = s->num_batches_tracked;
  }
}

torch::Tensor AfaStepHook::loss(train::ModelHandle& model, train::Batch& batch, const train::Criterion& criterion,
                                train::StepContext& /*context*/) {
  auto it = batch.extra.find("afa");
  if (it == batch.extra.end() || !it->second.defined())
    throw RunError("afa: the batch has no 'afa' view; the afa method adds AfaBatchTransform before its step hook");
  const at::Tensor afa_view = it->second.contiguous(batch.images.suggest_memory_format());
  const torch::Tensor clean = criterion(model.forward(batch.images), batch.targets);
  torch::Tensor augmented;
  {
    AuxiliaryBatchNormScope aux(*model.module);
    augmented = criterion(model.forward(afa_view), batch.targets);
  }
  return 0.5 * (clean + augmented);
}

}  // namespace frerec::augmentations
