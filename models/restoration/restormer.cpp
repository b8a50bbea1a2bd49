#include "models/restoration/restormer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pixelshuffle.h>
#include <torch/nn/options/conv.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>

#include "framework/core/error.h"

namespace frerec::restoration {

using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;

// ---------------------------------------------------------------- options
void RestormerOptions::validate(const std::string& component) const {
  auto fail = [&](const std::string& key, const std::string& value, const std::string& fix) {
    throw ConfigError(component + ": " + key + "=" + value + " " + fix);
  };
  if (in_channels < 1) fail("in_channels", std::to_string(in_channels), "must be >= 1");
  if (out_channels != in_channels)
    fail("out_channels", std::to_string(out_channels),
         "must equal in_channels=" + std::to_string(in_channels) + " (the output adds the input image)");
  if (dim < 1) fail("dim", std::to_string(dim), "must be >= 1");
  for (int level = 0; level < 4; ++level) {
    if (num_blocks[level] < 1) fail("num_blocks", std::to_string(num_blocks[level]), "must all be >= 1");
    const int width = level == 0 ? dim : dim << level;
    if (heads[level] < 1 || width % heads[level] != 0)
      fail("heads", std::to_string(heads[level]),
           "must divide the level-" + std::to_string(level + 1) + " width " + std::to_string(width));
  }
  if ((2 * dim) % heads[0] != 0) fail("heads", std::to_string(heads[0]), "must divide 2*dim (decoder level 1)");
  if (num_refinement_blocks < 0) fail("num_refinement_blocks", std::to_string(num_refinement_blocks), "must be >= 0");
  if (!(ffn_expansion_factor > 0)) fail("ffn_expansion_factor", std::to_string(ffn_expansion_factor), "must be > 0");
  if (layernorm != "WithBias" && layernorm != "BiasFree") fail("layernorm", layernorm, "must be WithBias or BiasFree");
  if (ring_width < 1) fail("ring_width", std::to_string(ring_width), "must be >= 1");
  if (angular_bins < 1) fail("angular_bins", std::to_string(angular_bins), "must be >= 1");
}

std::string RestormerOptions::to_yaml() const {
  YAML::Emitter out;
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "in_channels" << YAML::Value << in_channels;
  out << YAML::Key << "out_channels" << YAML::Value << out_channels;
  out << YAML::Key << "dim" << YAML::Value << dim;
  out << YAML::Key << "num_blocks" << YAML::Value << YAML::Flow
      << std::vector<int>(num_blocks.begin(), num_blocks.end());
  out << YAML::Key << "num_refinement_blocks" << YAML::Value << num_refinement_blocks;
  out << YAML::Key << "heads" << YAML::Value << YAML::Flow << std::vector<int>(heads.begin(), heads.end());
  out << YAML::Key << "ffn_expansion_factor" << YAML::Value << ffn_expansion_factor;
  out << YAML::Key << "bias" << YAML::Value << bias;
  out << YAML::Key << "layernorm" << YAML::Value << layernorm;
  out << YAML::Key << "fesa" << YAML::Value << fesa;
  out << YAML::Key << "ring_width" << YAML::Value << ring_width;
  out << YAML::Key << "angular_bins" << YAML::Value << angular_bins;
  out << YAML::EndMap;
  return out.c_str();
}

namespace {
std::array<int, 4> four(const std::vector<int>& values, const std::string& key, const std::string& component) {
  if (values.size() != 4)
    throw ConfigError(component + ": " + key + " must list 4 values (levels 1-4), got " +
                      std::to_string(values.size()));
  return {values[0], values[1], values[2], values[3]};
}

RestormerOptions options_from_node(const YAML::Node& node, RestormerOptions o, const std::string& component) {
  auto read = [&](const char* key, auto& target) {
    if (node[key] && !node[key].IsNull()) target = node[key].as<std::decay_t<decltype(target)>>();
  };
  read("in_channels", o.in_channels);
  read("out_channels", o.out_channels);
  read("dim", o.dim);
  if (node["num_blocks"]) o.num_blocks = four(node["num_blocks"].as<std::vector<int>>(), "num_blocks", component);
  read("num_refinement_blocks", o.num_refinement_blocks);
  if (node["heads"]) o.heads = four(node["heads"].as<std::vector<int>>(), "heads", component);
  read("ffn_expansion_factor", o.ffn_expansion_factor);
  read("bias", o.bias);
  read("layernorm", o.layernorm);
  read("fesa", o.fesa);
  read("ring_width", o.ring_width);
  read("angular_bins", o.angular_bins);
  return o;
}
}  // namespace

RestormerOptions RestormerOptions::from_yaml(const std::string& text) {
  try {
    return options_from_node(YAML::Load(text), RestormerOptions{}, "restoration");
  } catch (const YAML::Exception& e) {
    throw RunError(std::string("restoration: cannot parse the architecture text of a checkpoint: ") + e.what());
  }
}

RestormerOptions official_restormer_options() { return RestormerOptions{}; }

RestormerOptions paper_dae_options() {
  RestormerOptions o;
  o.num_blocks = {2, 4, 6, 8};
  o.num_refinement_blocks = 2;
  o.fesa = true;
  return o;
}

RestormerOptions cpu_dae_options() {
  RestormerOptions o = paper_dae_options();
  o.dim = 16;
  o.num_blocks = {1, 1, 2, 2};
  o.num_refinement_blocks = 1;
  return o;
}

RestormerOptions demo_dae_options() {
  RestormerOptions o = cpu_dae_options();
  o.dim = 16;
  o.num_blocks = {1, 1, 1, 1};
  o.num_refinement_blocks = 0;
  return o;
}

namespace {
config::Schema network_schema(const RestormerOptions& d, bool with_fesa) {
  config::Schema s;
  s.add_int("in_channels", d.in_channels, "image channels (1 grayscale, 3 RGB)", 1, 64);
  s.add_int("out_channels", d.out_channels, "output channels; must equal in_channels (global residual)", 1, 64);
  s.add_int("dim", d.dim, "feature width of level 1 (levels 2-4: 2x, 4x, 8x)", 1, 1024);
  s.add_int_list("num_blocks", {d.num_blocks[0], d.num_blocks[1], d.num_blocks[2], d.num_blocks[3]},
                 "transformer blocks in levels 1-4 (encoder and decoder alike)", 1, 64);
  s.add_int("num_refinement_blocks", d.num_refinement_blocks, "blocks of the refinement stage (at 2*dim)", 0, 64);
  s.add_int_list("heads", {d.heads[0], d.heads[1], d.heads[2], d.heads[3]}, "MDTA heads in levels 1-4", 1, 64);
  s.add_float("ffn_expansion_factor", d.ffn_expansion_factor, "GDFN hidden width = int(C * factor)", 0.01, 64);
  s.add_bool("bias", d.bias, "bias in the convolutions (official: false)");
  s.add_string("layernorm", d.layernorm, "per-pixel LayerNorm type", {"WithBias", "BiasFree"});
  if (with_fesa) {
    s.add_bool("fesa", d.fesa, "FET blocks (FESA + GDFN); false = plain Restormer blocks (ablation)");
    s.add_int("ring_width", d.ring_width, "FESA polar pooling ring width d (pixels of radius)", 1, 1024);
    s.add_int("angular_bins", d.angular_bins, "FESA polar pooling angular bins P", 1, 4096);
  }
  return s;
}
}  // namespace

config::Schema restormer_schema() { return network_schema(official_restormer_options(), false); }
config::Schema frerec_dae_schema() { return network_schema(paper_dae_options(), true); }

RestormerOptions restormer_options_from(const config::Params& params, const RestormerOptions& defaults) {
  const std::string component = params.prefix().empty() ? "restoration" : params.prefix();
  RestormerOptions o;
  try {
    o = options_from_node(params.node(), defaults, component);
  } catch (const YAML::Exception& e) {
    throw ConfigError(component + ": wrong value type (" + e.what() + ")");
  }
  o.validate(component);
  return o;
}

// ---------------------------------------------------------------- modules
LayerNormBodyImpl::LayerNormBodyImpl(int64_t channels, bool with_bias) : with_bias_(with_bias) {
  weight = register_parameter("weight", torch::ones({channels}));
  if (with_bias_) bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor LayerNormBodyImpl::forward(const torch::Tensor& x) {
  // Over channels at each pixel, population variance, eps inside the sqrt.
  auto mean = x.mean(1, /*keepdim=*/true);
  auto var = (x - mean).pow(2).mean(1, /*keepdim=*/true);
  auto inv = torch::rsqrt(var + 1e-5);
  auto w = weight.view({1, -1, 1, 1});
  if (with_bias_) return (x - mean) * inv * w + bias.view({1, -1, 1, 1});
  return x * inv * w;
}

LayerNorm2dImpl::LayerNorm2dImpl(int64_t channels, const std::string& type) {
  body = register_module("body", LayerNormBody(channels, type == "WithBias"));
}

MdtaImpl::MdtaImpl(int64_t dim, int64_t heads, bool bias) : heads_(heads) {
  temperature = register_parameter("temperature", torch::ones({heads, 1, 1}));
  qkv = register_module("qkv", Conv2d(Conv2dOptions(dim, dim * 3, 1).bias(bias)));
  qkv_dwconv = register_module(
      "qkv_dwconv", Conv2d(Conv2dOptions(dim * 3, dim * 3, 3).padding(1).groups(dim * 3).bias(bias)));
  project_out = register_module("project_out", Conv2d(Conv2dOptions(dim, dim, 1).bias(bias)));
}

torch::Tensor MdtaImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto parts = qkv_dwconv->forward(qkv->forward(x)).chunk(3, 1);
  auto heads_view = [&](const torch::Tensor& t) { return t.reshape({n, heads_, c / heads_, h * w}); };
  auto normalize = [](const torch::Tensor& t) {  // F.normalize(dim=-1), eps 1e-12
    return t / t.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
  };
  auto q = normalize(heads_view(parts[0]));
  auto k = normalize(heads_view(parts[1]));
  auto v = heads_view(parts[2]);
  auto attn = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * temperature, -1);
  auto out = torch::matmul(attn, v).reshape({n, c, h, w});
  return project_out->forward(out);
}

GdfnImpl::GdfnImpl(int64_t dim, double expansion_factor, bool bias) {
  const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * expansion_factor);
  project_in = register_module("project_in", Conv2d(Conv2dOptions(dim, hidden * 2, 1).bias(bias)));
  dwconv = register_module(
      "dwconv", Conv2d(Conv2dOptions(hidden * 2, hidden * 2, 3).padding(1).groups(hidden * 2).bias(bias)));
  project_out = register_module("project_out", Conv2d(Conv2dOptions(hidden, dim, 1).bias(bias)));
}

torch::Tensor GdfnImpl::forward(const torch::Tensor& x) {
  auto parts = dwconv->forward(project_in->forward(x)).chunk(2, 1);
  return project_out->forward(torch::gelu(parts[0]) * parts[1]);
}

TransformerBlockImpl::TransformerBlockImpl(int64_t dim, int64_t heads, const RestormerOptions& o) {
  norm1 = register_module("norm1", LayerNorm2d(dim, o.layernorm));
  attn = register_module("attn", Mdta(dim, heads, o.bias));
  if (o.fesa) {
    freq = register_module("freq", FrequencyBranch(dim, o.ring_width, o.angular_bins, o.bias));
    fuse = register_module("fuse", torch::nn::Sequential(Conv2d(Conv2dOptions(2 * dim, dim, 1).bias(false)),
                                                         torch::nn::BatchNorm2d(dim), torch::nn::ReLU()));
  }
  norm2 = register_module("norm2", LayerNorm2d(dim, o.layernorm));
  ffn = register_module("ffn", Gdfn(dim, o.ffn_expansion_factor, o.bias));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& input) {
  auto normed = norm1->forward(input);
  torch::Tensor x;
  if (freq) {  // FET block, Eq. 6
    x = input + fuse->forward(torch::cat({attn->forward(normed), freq->forward(normed)}, 1));
  } else {
    x = input + attn->forward(normed);
  }
  return x + ffn->forward(norm2->forward(x));
}

namespace {
class PatchEmbedImpl : public torch::nn::Module {
 public:
  // Never a bias: the official OverlapPatchEmbed is built without the `bias` flag.
  PatchEmbedImpl(int64_t in, int64_t dim) {
    proj = register_module("proj", Conv2d(Conv2dOptions(in, dim, 3).padding(1).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return proj->forward(x); }
  Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

// The official Downsample/Upsample wrap their layers in `body` (keys down1_2.body.0.weight).
class ResampleImpl : public torch::nn::Module {
 public:
  ResampleImpl(int64_t channels, bool down) {
    if (down) {
      body = register_module("body", torch::nn::Sequential(
                                         Conv2d(Conv2dOptions(channels, channels / 2, 3).padding(1).bias(false)),
                                         torch::nn::PixelUnshuffle(2)));
    } else {
      body = register_module("body", torch::nn::Sequential(
                                         Conv2d(Conv2dOptions(channels, channels * 2, 3).padding(1).bias(false)),
                                         torch::nn::PixelShuffle(2)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) { return body->forward(x); }
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(Resample);

torch::nn::Sequential make_stage(int64_t count, int64_t dim, int64_t heads, const RestormerOptions& o) {
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < count; ++i) stage->push_back(TransformerBlock(dim, heads, o));
  return stage;
}
}  // namespace

RestormerImpl::RestormerImpl(const RestormerOptions& o) : options_(o) {
  o.validate("restormer");
  const int64_t d = o.dim;
  auto patch_embed = register_module("patch_embed", PatchEmbed(o.in_channels, d));
  patch_embed_proj_ = patch_embed->proj;
  encoder_level1_ = register_module("encoder_level1", make_stage(o.num_blocks[0], d, o.heads[0], o));
  down1_2_ = register_module("down1_2", Resample(d, true))->body;
  encoder_level2_ = register_module("encoder_level2", make_stage(o.num_blocks[1], d * 2, o.heads[1], o));
  down2_3_ = register_module("down2_3", Resample(d * 2, true))->body;
  encoder_level3_ = register_module("encoder_level3", make_stage(o.num_blocks[2], d * 4, o.heads[2], o));
  down3_4_ = register_module("down3_4", Resample(d * 4, true))->body;
  latent_ = register_module("latent", make_stage(o.num_blocks[3], d * 8, o.heads[3], o));
  up4_3_ = register_module("up4_3", Resample(d * 8, false))->body;
  reduce_chan_level3_ = register_module("reduce_chan_level3", Conv2d(Conv2dOptions(d * 8, d * 4, 1).bias(o.bias)));
  decoder_level3_ = register_module("decoder_level3", make_stage(o.num_blocks[2], d * 4, o.heads[2], o));
  up3_2_ = register_module("up3_2", Resample(d * 4, false))->body;
  reduce_chan_level2_ = register_module("reduce_chan_level2", Conv2d(Conv2dOptions(d * 4, d * 2, 1).bias(o.bias)));
  decoder_level2_ = register_module("decoder_level2", make_stage(o.num_blocks[1], d * 2, o.heads[1], o));
  up2_1_ = register_module("up2_1", Resample(d * 2, false))->body;
  decoder_level1_ = register_module("decoder_level1", make_stage(o.num_blocks[0], d * 2, o.heads[0], o));
  refinement_ = register_module("refinement", make_stage(o.num_refinement_blocks, d * 2, o.heads[0], o));
  output_ = register_module("output", Conv2d(Conv2dOptions(d * 2, o.out_channels, 3).padding(1).bias(o.bias)));
}

torch::Tensor RestormerImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != options_.in_channels)
    throw RunError("restormer: input has shape " + std::string(c10::str(x.sizes())) + " but the network expects [N," +
                   std::to_string(options_.in_channels) + ",H,W] (channel mismatch between model and images)");
  if (x.size(2) % 8 != 0 || x.size(3) % 8 != 0)
    throw RunError("restormer: input size " + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) +
                   " must be divisible by 8; pad it (restoration::pad_to_multiple) first");
  auto out1 = encoder_level1_->forward(patch_embed_proj_->forward(x));
  auto out2 = encoder_level2_->forward(down1_2_->forward(out1));
  auto out3 = encoder_level3_->forward(down2_3_->forward(out2));
  auto latent = latent_->forward(down3_4_->forward(out3));
  auto d3 = decoder_level3_->forward(reduce_chan_level3_->forward(torch::cat({up4_3_->forward(latent), out3}, 1)));
  auto d2 = decoder_level2_->forward(reduce_chan_level2_->forward(torch::cat({up3_2_->forward(d3), out2}, 1)));
  auto d1 = decoder_level1_->forward(torch::cat({up2_1_->forward(d2), out1}, 1));
  auto refined = refinement_->is_empty() ? d1 : refinement_->forward(d1);
  return output_->forward(refined) + x;
}

// ---------------------------------------------------------------- helpers
void initialize_parameters(torch::nn::Module& module, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const auto& child = item.value();
    if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(child.get())) {
      const auto& w = conv->weight;
      const double fan_in = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
      const double bound = 1.0 / std::sqrt(fan_in);
      auto fresh_w = at::empty(w.sizes(), at::kFloat).uniform_(-bound, bound, generator);
      w.copy_(fresh_w);
      if (conv->bias.defined()) conv->bias.copy_(at::empty(conv->bias.sizes(), at::kFloat).uniform_(-bound, bound, generator));
    } else if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(child.get())) {
      bn->reset_parameters();
      // FET fuse: a small γ so every FESA branch starts near the identity yet keeps a live
      // gradient (see the header; γ = 0 would cut it for good).
      if (item.key().size() >= 6 && item.key().compare(item.key().size() - 6, 6, "fuse.1") == 0)
        bn->weight.fill_(kFuseBatchNormGamma);
    }
  }
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

ForwardCost forward_cost(const RestormerOptions& o, int height, int width) {
  ForwardCost cost;
  auto conv = [&](double cin, double cout, double k, double groups, double pixels) {
    cost.conv_macs += cin / groups * cout * k * k * pixels;
  };
  auto block = [&](double c, double heads, double pixels, double h, double w) {
    conv(c, 3 * c, 1, 1, pixels);          // qkv
    conv(3 * c, 3 * c, 3, 3 * c, pixels);  // qkv_dwconv
    cost.attention_macs += 2 * c * c / heads * pixels;
    conv(c, c, 1, 1, pixels);  // project_out
    const double hidden = std::floor(c * o.ffn_expansion_factor);
    conv(c, 2 * hidden, 1, 1, pixels);
    conv(2 * hidden, 2 * hidden, 3, 2 * hidden, pixels);
    conv(hidden, c, 1, 1, pixels);
    if (o.fesa) {
      const double radius = std::ceil(std::max(h, w) / 2);
      const double cells = o.angular_bins * std::max(1.0, std::ceil(radius / o.ring_width));
      conv(1, 1, 3, 1, cells);
      conv(1, 1, 3, 1, cells);
      conv(c, c, 1, 1, pixels);  // the 1x1 C->C of Eq. 5
      conv(2 * c, c, 1, 1, pixels);
      cost.fft_flops += 2 * 5 * pixels * std::log2(std::max(2.0, pixels));  // fft2 + ifft2
    }
  };
  auto stage = [&](int count, double c, double heads, double h, double w) {
    for (int i = 0; i < count; ++i) block(c, heads, h * w, h, w);
  };
  const double d = o.dim, h1 = height, w1 = width;
  const double p1 = h1 * w1, p2 = p1 / 4, p3 = p1 / 16, p4 = p1 / 64;
  conv(o.in_channels, d, 3, 1, p1);
  stage(o.num_blocks[0], d, o.heads[0], h1, w1);
  conv(d, d / 2, 3, 1, p1);
  stage(o.num_blocks[1], 2 * d, o.heads[1], h1 / 2, w1 / 2);
  conv(2 * d, d, 3, 1, p2);
  stage(o.num_blocks[2], 4 * d, o.heads[2], h1 / 4, w1 / 4);
  conv(4 * d, 2 * d, 3, 1, p3);
  stage(o.num_blocks[3], 8 * d, o.heads[3], h1 / 8, w1 / 8);
  conv(8 * d, 16 * d, 3, 1, p4);
  conv(8 * d, 4 * d, 1, 1, p3);
  stage(o.num_blocks[2], 4 * d, o.heads[2], h1 / 4, w1 / 4);
  conv(4 * d, 8 * d, 3, 1, p3);
  conv(4 * d, 2 * d, 1, 1, p2);
  stage(o.num_blocks[1], 2 * d, o.heads[1], h1 / 2, w1 / 2);
  conv(2 * d, 4 * d, 3, 1, p2);
  stage(o.num_blocks[0], 2 * d, o.heads[0], h1, w1);
  stage(o.num_refinement_blocks, 2 * d, o.heads[0], h1, w1);
  conv(2 * d, o.out_channels, 3, 1, p1);
  return cost;
}

Registry<Restormer>& restoration_model_registry() {
  static Registry<Restormer> registry("models");
  return registry;
}

}  // namespace frerec::restoration
