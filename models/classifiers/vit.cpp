#include "models/classifiers/vit.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>

#include <cmath>
#include <string>

#include "framework/core/error.h"
#include "models/classifiers/init.h"

namespace frerec::models {

namespace nn = torch::nn;

ViTConfig vit_b_16_config() { return ViTConfig{}; }

ViTConfig vit_tiny_config() {
  ViTConfig c;
  c.image_size = 64;
  c.patch_size = 8;
  c.num_layers = 12;
  c.num_heads = 3;
  c.hidden_dim = 192;
  c.mlp_dim = 768;
  return c;
}

void validate_vit_config(const ViTConfig& c, const std::string& component) {
  if (c.patch_size < 1) {
    throw ConfigError(component + ": patch_size=" + std::to_string(c.patch_size) + " must be at least 1");
  }
  if (c.image_size < c.patch_size) {
    throw ConfigError(component + ": image_size=" + std::to_string(c.image_size) + " is smaller than patch_size=" +
                      std::to_string(c.patch_size) + "; use a larger image_size or a smaller patch_size");
  }
  if (c.image_size % c.patch_size != 0) {
    throw ConfigError(component + ": image_size=" + std::to_string(c.image_size) +
                      " must be a multiple of patch_size=" + std::to_string(c.patch_size) +
                      "; resize the images (e.g. to " + std::to_string(c.image_size / c.patch_size * c.patch_size) +
                      ") or change patch_size");
  }
  if (c.num_heads < 1 || c.hidden_dim % c.num_heads != 0) {
    throw ConfigError(component + ": hidden_dim=" + std::to_string(c.hidden_dim) +
                      " must be divisible by num_heads=" + std::to_string(c.num_heads));
  }
}

namespace {
torch::Tensor maybe_dropout(const torch::Tensor& x, double p, bool training) {
  if (p <= 0.0) return x;
  return nn::functional::dropout(x, nn::functional::DropoutFuncOptions().p(p).training(training));
}
}  // namespace

SelfAttentionImpl::SelfAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout)
    : num_heads_(num_heads), dropout_(dropout) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * embed_dim, embed_dim}));
  in_proj_bias = register_parameter("in_proj_bias", torch::empty({3 * embed_dim}));
  out_proj = register_module("out_proj", nn::Linear(embed_dim, embed_dim));
}

torch::Tensor SelfAttentionImpl::forward(torch::Tensor x) {
  const int64_t n = x.size(0), l = x.size(1), e = x.size(2);
  const int64_t head_dim = e / num_heads_;
  // [N, L, 3E] -> 3 × [N, heads, L, head_dim]
  torch::Tensor qkv = at::linear(x, in_proj_weight, in_proj_bias).view({n, l, 3, num_heads_, head_dim});
  qkv = qkv.permute({2, 0, 3, 1, 4});
  torch::Tensor q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  torch::Tensor attn = at::softmax(at::matmul(q, qkv[1].transpose(-2, -1)), -1);
  attn = maybe_dropout(attn, dropout_, is_training());
  torch::Tensor out = at::matmul(attn, qkv[2]).transpose(1, 2).reshape({n, l, e});
  return out_proj->forward(out);
}

EncoderBlockImpl::EncoderBlockImpl(int64_t num_heads, int64_t hidden_dim, int64_t mlp_dim, double dropout,
                                   double attention_dropout)
    : dropout_(dropout) {
  ln_1 = register_module("ln_1", nn::LayerNorm(nn::LayerNormOptions({hidden_dim}).eps(1e-6)));
  self_attention = register_module("self_attention", SelfAttention(hidden_dim, num_heads, attention_dropout));
  register_module("dropout", nn::Dropout(dropout));
  ln_2 = register_module("ln_2", nn::LayerNorm(nn::LayerNormOptions({hidden_dim}).eps(1e-6)));
  // torchvision's MLPBlock: Linear, GELU, Dropout, Linear, Dropout (indices 0..4).
  mlp = register_module("mlp", nn::Sequential(nn::Linear(hidden_dim, mlp_dim), nn::GELU(), nn::Dropout(dropout),
                                              nn::Linear(mlp_dim, hidden_dim), nn::Dropout(dropout)));
}

torch::Tensor EncoderBlockImpl::forward(torch::Tensor input) {
  torch::Tensor x = maybe_dropout(self_attention->forward(ln_1->forward(input)), dropout_, is_training());
  x = x + input;
  return x + mlp->forward(ln_2->forward(x));
}

EncoderImpl::EncoderImpl(int64_t seq_length, int64_t num_layers, int64_t num_heads, int64_t hidden_dim,
                         int64_t mlp_dim, double dropout, double attention_dropout)
    : dropout_(dropout) {
  pos_embedding = register_parameter("pos_embedding", torch::empty({1, seq_length, hidden_dim}));
  register_module("dropout", nn::Dropout(dropout));
  layers = nn::Sequential();
  for (int64_t i = 0; i < num_layers; ++i) {
    layers->push_back("encoder_layer_" + std::to_string(i),
                      EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout));
  }
  register_module("layers", layers);
  ln = register_module("ln", nn::LayerNorm(nn::LayerNormOptions({hidden_dim}).eps(1e-6)));
}

torch::Tensor EncoderImpl::forward(torch::Tensor x) {
  x = maybe_dropout(x + pos_embedding, dropout_, is_training());
  return ln->forward(layers->forward(x));
}

VisionTransformerImpl::VisionTransformerImpl(const ViTConfig& config) : Classifier("VisionTransformer"), config_(config) {
  validate_vit_config(config, "vit");
  const int64_t grid = config.image_size / config.patch_size;
  conv_proj = register_module("conv_proj", nn::Conv2d(nn::Conv2dOptions(config.in_channels, config.hidden_dim,
                                                                        config.patch_size)
                                                          .stride(config.patch_size)));
  class_token = register_parameter("class_token", torch::zeros({1, 1, config.hidden_dim}));
  encoder = register_module("encoder", Encoder(grid * grid + 1, config.num_layers, config.num_heads, config.hidden_dim,
                                               config.mlp_dim, config.dropout, config.attention_dropout));
  heads = nn::Sequential();
  heads->push_back("head", nn::Linear(config.hidden_dim, config.num_classes));
  register_module("heads", heads);
  reset_parameters(config.seed);
}

torch::Tensor VisionTransformerImpl::features(torch::Tensor x) {
  check_input(x, config_.in_channels, "vit");
  if (x.size(2) != config_.image_size || x.size(3) != config_.image_size) {
    throw RunError("vit: input is " + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) +
                   " but the model was built for image_size=" + std::to_string(config_.image_size) +
                   "; resize the images or set the model's image_size");
  }
  x = normalize_input(x);
  const int64_t n = x.size(0);
  x = conv_proj->forward(x).flatten(2).transpose(1, 2);  // [N, tokens, D]
  x = torch::cat({class_token.expand({n, -1, -1}), x}, 1);
  return encoder->forward(x).select(1, 0);
}

void VisionTransformerImpl::reset_parameters(uint64_t seed) {
  at::Generator gen = init::make_generator(seed);
  // Draw order follows torchvision's construction order: encoder layers (MLP linears,
  // then attention), pos_embedding, conv_proj, head.
  const double mlp_bias_std = 1e-6;
  for (auto& child : encoder->layers->children()) {
    auto* block = child->as<EncoderBlock>();
    for (auto& m : block->mlp->children()) {
      if (auto* linear = m->as<nn::Linear>()) {
        init::xavier_uniform(linear->weight, gen);
        init::normal(linear->bias, 0.0, mlp_bias_std, gen);
      }
    }
    auto& attn = block->self_attention;
    init::xavier_uniform(attn->in_proj_weight, gen);
    init::constant(attn->in_proj_bias, 0.0);
    init::linear_default(attn->out_proj->weight, at::Tensor(), gen);
    init::constant(attn->out_proj->bias, 0.0);
    for (auto* ln : {block->ln_1.get(), block->ln_2.get()}) {
      init::constant(ln->weight, 1.0);
      init::constant(ln->bias, 0.0);
    }
  }
  init::constant(encoder->ln->weight, 1.0);
  init::constant(encoder->ln->bias, 0.0);
  init::normal(encoder->pos_embedding, 0.0, 0.02, gen);
  const double std = std::sqrt(1.0 / static_cast<double>(init::fan_in(conv_proj->weight)));
  init::trunc_normal(conv_proj->weight, 0.0, std, -2.0, 2.0, gen);
  init::constant(conv_proj->bias, 0.0);
  init::constant(class_token, 0.0);
  auto* head = heads->children().front()->as<nn::Linear>();
  init::constant(head->weight, 0.0);
  init::constant(head->bias, 0.0);
}

}  // namespace frerec::models
