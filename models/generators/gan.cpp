#include "models/generators/gan.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <fmt/format.h>


#include "framework/core/error.h"
#include "framework/core/random.h"

namespace frerec::generators {
namespace {

bool power_of_two(int v) { return v > 0 && (v & (v - 1)) == 0; }

int parse_int(const std::map<std::string, std::string>& values, const std::string& key, const std::string& what) {
  const auto it = values.find(key);
  if (it == values.end()) throw RunError(what + ": architecture key '" + key + "' is missing");
  try {
    std::size_t used = 0;
    const int v = std::stoi(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument(key);
    return v;
  } catch (const std::exception&) {
    throw RunError(what + ": architecture key '" + key + "' = '" + it->second + "' is not an integer");
  }
}

void init_conv_weight(at::Tensor& weight) {
  at::NoGradGuard no_grad;
  torch::nn::init::normal_(weight, 0.0, 0.02);
}

}  // namespace

// ---------------------------------------------------------------- architecture
int GanArchitecture::generator_channels(int resolution) const {
  return std::min(g_max_width, g_width * (image_size / resolution));
}

int GanArchitecture::discriminator_channels(int resolution) const {
  return std::min(d_max_width, d_width * (image_size / 2 / resolution));
}

void GanArchitecture::validate(const std::string& where) const {
  auto fail = [&](const std::string& key, int value, const std::string& fix) {
    throw ConfigError(fmt::format("generator: {}{}={} {}", where.empty() ? "" : where + ".", key, value, fix));
  };
  if (!power_of_two(image_size) || image_size < 32 || image_size > 256)
    fail("image_size", image_size, "must be 32, 64, 128 or 256 (set data.image_size)");
  if (channels != 1 && channels != 3) fail("channels", channels, "must be 1 or 3");
  if (num_classes < 1 || num_classes > 1000) fail("num_classes", num_classes, "must be in [1, 1000]");
  if (z_dim < 1 || z_dim > 4096) fail("z_dim", z_dim, "must be in [1, 4096]");
  if (embed_dim < 0 || embed_dim > 4096) fail("embed_dim", embed_dim, "must be in [0, 4096]");
  if (g_width < 1 || g_width > 4096) fail("g_width", g_width, "must be in [1, 4096]");
  if (g_max_width < g_width) fail("g_max_width", g_max_width, "must be >= g_width");
  if (d_width < 1 || d_width > 4096) fail("d_width", d_width, "must be in [1, 4096]");
  if (d_max_width < d_width) fail("d_max_width", d_max_width, "must be >= d_width");
  if (d_mbstd_group < 0 || d_mbstd_group > 64) fail("d_mbstd_group", d_mbstd_group, "must be in [0, 64]");
  if (g_noise != 0 && g_noise != 1) fail("g_noise", g_noise, "must be 0 or 1");
  if (g_zmod != 0 && g_zmod != 1) fail("g_zmod", g_zmod, "must be 0 or 1");
}

std::map<std::string, std::string> GanArchitecture::to_map() const {
  return {{"image_size", std::to_string(image_size)}, {"channels", std::to_string(channels)},
          {"num_classes", std::to_string(num_classes)}, {"z_dim", std::to_string(z_dim)},
          {"embed_dim", std::to_string(embed_dim)}, {"g_width", std::to_string(g_width)},
          {"g_max_width", std::to_string(g_max_width)}, {"d_width", std::to_string(d_width)},
          {"d_max_width", std::to_string(d_max_width)}, {"d_mbstd_group", std::to_string(d_mbstd_group)}, {"g_noise", std::to_string(g_noise)}, {"g_zmod", std::to_string(g_zmod)}};
}

GanArchitecture GanArchitecture::from_map(const std::map<std::string, std::string>& values, const std::string& what) {
  GanArchitecture a;
  a.image_size = parse_int(values, "image_size", what);
  a.channels = parse_int(values, "channels", what);
  a.num_classes = parse_int(values, "num_classes", what);
  a.z_dim = parse_int(values, "z_dim", what);
  a.embed_dim = parse_int(values, "embed_dim", what);
  a.g_width = parse_int(values, "g_width", what);
  a.g_max_width = parse_int(values, "g_max_width", what);
  a.d_width = parse_int(values, "d_width", what);
  a.d_max_width = parse_int(values, "d_max_width", what);
  a.d_mbstd_group = parse_int(values, "d_mbstd_group", what);
  a.g_noise = parse_int(values, "g_noise", what);
  a.g_zmod = parse_int(values, "g_zmod", what);
  try {
    a.validate("architecture");
  } catch (const ConfigError& e) {
    throw RunError(what + ": invalid architecture (" + e.what() + ")");
  }
  return a;
}

std::string GanArchitecture::describe() const {
  return fmt::format("{}x{}x{}, {} classes, z {}, embed {}, G width {}..{}, D width {}..{}, mbstd {}, noise {}, zmod {}", image_size,
                     image_size, channels, num_classes, z_dim, embed_dim, g_width, g_max_width, d_width, d_max_width,
                     d_mbstd_group, g_noise, g_zmod);
}

// ---------------------------------------------------------------- conditional BN
ConditionalBatchNormImpl::ConditionalBatchNormImpl(int64_t features, int64_t num_classes, int64_t z_dim) {
  if (z_dim > 0) {
    gain_z = register_module("gain_z", torch::nn::Linear(torch::nn::LinearOptions(z_dim, features).bias(false)));
    bias_z = register_module("bias_z", torch::nn::Linear(torch::nn::LinearOptions(z_dim, features).bias(false)));
    init_conv_weight(gain_z->weight);
    init_conv_weight(bias_z->weight);
  }
  gain = register_module("gain", torch::nn::Embedding(num_classes, features));
  bias = register_module("bias", torch::nn::Embedding(num_classes, features));
  {
    at::NoGradGuard no_grad;
    gain->weight.fill_(1.0);
    bias->weight.zero_();
  }
  running_mean = register_buffer("running_mean", at::zeros({features}));
  running_var = register_buffer("running_var", at::ones({features}));
  num_batches_tracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

void ConditionalBatchNormImpl::reset_running_stats() {
  at::NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1.0);
  num_batches_tracked.zero_();
}

at::Tensor ConditionalBatchNormImpl::forward(const at::Tensor& x, const at::Tensor& labels, const at::Tensor& z) {
  double momentum = 0.1;
  if (is_training()) {
    at::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    if (cumulative_) momentum = 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
  }
  const at::Tensor normalised =
      at::batch_norm(x, {}, {}, running_mean, running_var, is_training(), momentum, 1e-5, false);
  const int64_t n = x.size(0), c = x.size(1);
  at::Tensor g = gain(labels), b = bias(labels);
  if (gain_z) {
    FREREC_ASSERT(z.defined(), "self-modulated BN needs z");
    g = g + gain_z(z);
    b = b + bias_z(z);
  }
  return normalised * g.view({n, c, 1, 1}) + b.view({n, c, 1, 1});
}

// ---------------------------------------------------------------- generator blocks
UpBlockImpl::UpBlockImpl(int64_t in_channels, int64_t out_channels, int64_t num_classes, bool noise, int64_t z_dim) {
  if (noise) noise_weight = register_parameter("noise_weight", at::zeros({1}));
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, 2 * out_channels, 3)
                                                       .padding(1)
                                                       .bias(false)));
  bn = register_module("bn", ConditionalBatchNorm(2 * out_channels, num_classes, z_dim));
  init_conv_weight(conv->weight);
}

at::Tensor UpBlockImpl::forward(const at::Tensor& x, const at::Tensor& labels, const at::Tensor& z,
                                const at::Tensor& noise) {
  const at::Tensor up = at::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)});
  at::Tensor h = conv(up);
  if (noise_weight.defined()) {
    const at::Tensor n = noise.defined() ? noise : at::randn({h.size(0), 1, h.size(2), h.size(3)}, h.options());
    h = h + noise_weight * n;
  }
  return at::glu(bn(h, labels, z), 1);
}

SkipExcitationImpl::SkipExcitationImpl(int64_t small_channels, int64_t big_channels) {
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(small_channels, big_channels, 4).bias(false)));
  conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(big_channels, big_channels, 1).bias(false)));
  init_conv_weight(conv1->weight);
  init_conv_weight(conv2->weight);
}

at::Tensor SkipExcitationImpl::forward(const at::Tensor& small, const at::Tensor& big) {
  at::Tensor gate = conv1(at::adaptive_avg_pool2d(small, {4, 4}));
  gate = gate * at::sigmoid(gate);  // Swish
  gate = at::sigmoid(conv2(gate));
  return big * gate;
}

// ---------------------------------------------------------------- generator
GeneratorImpl::GeneratorImpl(const GanArchitecture& a) : architecture_(a) {
  a.validate("generator");
  const int64_t classes = a.num_classes;
  const int64_t embed = std::max(a.embed_dim, 0);
  if (embed > 0) class_embedding = register_module("class_embedding", torch::nn::Embedding(classes, embed));
  const int64_t c4 = a.generator_channels(4);
  init_conv = register_module(
      "init_conv", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(a.z_dim + embed, 2 * c4, 4).bias(false)));
  init_conv_weight(init_conv->weight);
  const int64_t zmod = a.g_zmod != 0 ? a.z_dim : 0;
  init_bn = register_module("init_bn", ConditionalBatchNorm(2 * c4, classes, zmod));
  up = register_module("up", torch::nn::ModuleList());
  excite = register_module("excite", torch::nn::ModuleList());
  for (int r = 8; r <= a.image_size; r *= 2) {
    up->push_back(UpBlock(a.generator_channels(r / 2), a.generator_channels(r), classes, a.g_noise != 0, zmod));
    resolutions_.push_back(r);
    if (r >= 32) {
      excite_index_[r] = static_cast<int>(excite->size());
      excite->push_back(SkipExcitation(a.generator_channels(r / 8), a.generator_channels(r)));
    }
  }
  to_image = register_module(
      "to_image", torch::nn::Conv2d(torch::nn::Conv2dOptions(a.generator_channels(a.image_size), a.channels, 3).padding(1)));
  init_conv_weight(to_image->weight);
  {
    at::NoGradGuard no_grad;
    to_image->bias.zero_();
  }
}

std::vector<int> GeneratorImpl::noise_resolutions() const {
  return architecture_.g_noise != 0 ? resolutions_ : std::vector<int>{};
}

at::Tensor GeneratorImpl::forward(const at::Tensor& z, const at::Tensor& labels, const std::vector<at::Tensor>& noise) {
  FREREC_ASSERT(noise.empty() || noise.size() == noise_resolutions().size(), "generator: one noise map per up block");
  const int64_t n = z.size(0);
  at::Tensor h = class_embedding ? at::cat({z, class_embedding(labels)}, 1) : z;
  at::Tensor x = at::glu(init_bn(init_conv(h.view({n, h.size(1), 1, 1})), labels, z), 1);
  std::map<int, at::Tensor> features{{4, x}};
  for (std::size_t i = 0; i < resolutions_.size(); ++i) {
    const int r = resolutions_[i];
    x = up[i]->as<UpBlock>()->forward(x, labels, z, noise.empty() ? at::Tensor() : noise[i]);
    const auto it = excite_index_.find(r);
    if (it != excite_index_.end()) x = excite[it->second]->as<SkipExcitation>()->forward(features.at(r / 8), x);
    features[r] = x;
  }
  return at::tanh(to_image(x));
}

std::vector<ConditionalBatchNorm> GeneratorImpl::batch_norms() const {
  std::vector<ConditionalBatchNorm> out{init_bn};
  for (const auto& block : *up) out.push_back(block->as<UpBlock>()->bn);
  return out;
}

void GeneratorImpl::recompute_batch_stats(int batches, int batch, uint64_t seed) {
  FREREC_ASSERT(batches >= 1 && batch >= 1, "recompute_batch_stats needs at least one batch");
  auto norms = batch_norms();
  for (auto& bn : norms) {
    bn->reset_running_stats();
    bn->set_cumulative(true);
  }
  train();
  {
    at::NoGradGuard no_grad;
    for (int b = 0; b < batches; ++b) {
      // Balanced classes: class c takes the images k ≡ c (mod classes) of the batch.
      std::vector<at::Tensor> zs;
      std::vector<std::vector<at::Tensor>> noises(noise_resolutions().size());
      std::vector<int64_t> labels;
      for (int c = 0; c < architecture_.num_classes; ++c) {
        std::vector<int64_t> indices;
        for (int k = c; k < batch; k += architecture_.num_classes) indices.push_back(static_cast<int64_t>(b) * batch + k);
        if (indices.empty()) continue;
        const Latents latents = latents_for(*this, seed, c, indices);
        zs.push_back(latents.z);
        for (std::size_t i = 0; i < latents.noise.size(); ++i) noises[i].push_back(latents.noise[i]);
        labels.insert(labels.end(), indices.size(), c);
      }
      std::vector<at::Tensor> noise;
      for (const auto& parts : noises) noise.push_back(at::cat(parts, 0));
      forward(at::cat(zs, 0), at::tensor(labels, at::kLong), noise);
    }
  }
  for (auto& bn : norms) bn->set_cumulative(false);
  eval();
}

// ---------------------------------------------------------------- discriminator
DownBlockImpl::DownBlockImpl(int64_t in_channels, int64_t out_channels) {
  main1 = register_module("main1", SNConv2d(in_channels, out_channels, 4, 2, 1));
  main2 = register_module("main2", SNConv2d(out_channels, out_channels, 3, 1, 1));
  direct = register_module("direct", SNConv2d(in_channels, out_channels, 1, 1, 0));
}

at::Tensor DownBlockImpl::forward(const at::Tensor& x) {
  const at::Tensor main = at::leaky_relu(main2(at::leaky_relu(main1(x), 0.2)), 0.2);
  const at::Tensor skip = at::leaky_relu(direct(at::avg_pool2d(x, {2, 2})), 0.2);
  return main + skip;
}

DiscriminatorImpl::DiscriminatorImpl(const GanArchitecture& a) : architecture_(a) {
  a.validate("discriminator");
  down = register_module("down", torch::nn::ModuleList());
  int64_t in = a.channels;
  for (int r = a.image_size / 2; r >= 4; r /= 2) {
    const int64_t out = a.discriminator_channels(r);
    down->push_back(DownBlock(in, out));
    in = out;
  }
  const int64_t extra = a.d_mbstd_group > 0 ? 1 : 0;
  final_conv = register_module("final_conv", SNConv2d(in + extra, in, 3, 1, 1));
  linear = register_module("linear", SNLinear(in, 1));
  projection = register_module("projection", SNEmbedding(a.num_classes, in));
}

at::Tensor DiscriminatorImpl::forward(const at::Tensor& images, const at::Tensor& labels) {
  at::Tensor x = images;
  for (const auto& block : *down) x = block->as<DownBlock>()->forward(x);
  if (architecture_.d_mbstd_group > 0) x = minibatch_stddev(x, architecture_.d_mbstd_group);
  x = at::leaky_relu(final_conv(x), 0.2);
  const at::Tensor pooled = x.sum({2, 3});
  return linear(pooled).squeeze(1) + (projection(labels) * pooled).sum(1);
}

// ---------------------------------------------------------------- class critic
ClassCriticImpl::ClassCriticImpl(int64_t channels, int64_t num_classes, int64_t width) {
  convs = register_module("convs", torch::nn::ModuleList());
  norms = register_module("norms", torch::nn::ModuleList());
  const int64_t widths[] = {width, 2 * width, 4 * width, 4 * width};
  const int strides[] = {2, 2, 2, 1};
  int64_t in = channels;
  for (int i = 0; i < 4; ++i) {
    convs->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in, widths[i], 3).stride(strides[i]).padding(1).bias(false)));
    norms->push_back(torch::nn::BatchNorm2d(widths[i]));
    strides_.push_back(strides[i]);
    in = widths[i];
  }
  head = register_module("head", torch::nn::Linear(2 * in, num_classes));
}

at::Tensor ClassCriticImpl::forward(const at::Tensor& images) {
  at::Tensor x = images;
  for (std::size_t i = 0; i < strides_.size(); ++i)
    x = at::relu(norms[i]->as<torch::nn::BatchNorm2d>()->forward(convs[i]->as<torch::nn::Conv2d>()->forward(x)));
  const at::Tensor flat = x.flatten(2);
  return head(at::cat({std::get<0>(flat.max(2)), flat.mean(2)}, 1));
}

at::Tensor minibatch_stddev(const at::Tensor& x, int group) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  int64_t g = std::min<int64_t>(group, n);
  while (n % g != 0) --g;
  at::Tensor std;
  if (g < 2) {
    std = at::zeros({n, 1, h, w}, x.options());
  } else {
    const at::Tensor grouped = x.reshape({n / g, g, c, h, w});
    const at::Tensor variance = (grouped - grouped.mean(1, true)).pow(2).mean(1);  // [n/g, c, h, w]
    const at::Tensor s = at::sqrt(variance + 1e-8).mean({1, 2, 3});                // [n/g]
    std = s.view({n / g, 1, 1, 1, 1}).expand({n / g, g, 1, h, w}).reshape({n, 1, h, w});
  }
  return at::cat({x, std}, 1);
}

// ---------------------------------------------------------------- helpers
int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

std::vector<float> noise_for(const std::vector<int>& resolutions, uint64_t seed, int label, int64_t index) {
  random::Xoshiro256 rng(random::mix_seed(random::tag_seed("frerec.generators.noise"), seed,
                                       static_cast<uint64_t>(label), static_cast<uint64_t>(index)));
  std::size_t total = 0;
  for (int r : resolutions) total += static_cast<std::size_t>(r) * r;
  std::vector<float> noise(total);
  for (float& v : noise) v = static_cast<float>(rng.normal());
  return noise;
}

Latents latents_for(const GeneratorImpl& generator, uint64_t seed, int label, const std::vector<int64_t>& indices) {
  const int z_dim = generator.architecture().z_dim;
  const std::vector<int> resolutions = generator.noise_resolutions();
  const auto n = static_cast<int64_t>(indices.size());
  Latents out;
  out.z = at::empty({n, z_dim});
  for (int r : resolutions) out.noise.push_back(at::empty({n, 1, r, r}));
  for (int64_t k = 0; k < n; ++k) {
    const auto z = latent_for(z_dim, seed, label, indices[static_cast<std::size_t>(k)]);
    std::copy(z.begin(), z.end(), out.z[k].data_ptr<float>());
    const auto noise = noise_for(resolutions, seed, label, indices[static_cast<std::size_t>(k)]);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < resolutions.size(); ++i) {
      const std::size_t size = static_cast<std::size_t>(resolutions[i]) * resolutions[i];
      std::copy(noise.begin() + offset, noise.begin() + offset + size, out.noise[i][k].data_ptr<float>());
      offset += size;
    }
  }
  return out;
}

std::vector<float> latent_for(int z_dim, uint64_t seed, int label, int64_t index) {
  random::Xoshiro256 rng(random::mix_seed(random::tag_seed("frerec.generators.latent"), seed,
                                       static_cast<uint64_t>(label), static_cast<uint64_t>(index)));
  std::vector<float> z(static_cast<std::size_t>(z_dim));
  for (float& v : z) v = static_cast<float>(rng.normal());
  return z;
}

}  // namespace frerec::generators
