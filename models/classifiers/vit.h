// Vision Transformer (Dosovitskiy et al. 2021) exactly as torchvision.models.vision_transformer
// builds it: conv_proj (patch embedding, kernel = stride = patch_size), class_token
// (1,1,D), encoder.pos_embedding (1, 1 + (image/patch)², D), pre-norm encoder layers
// encoder.layers.encoder_layer_i.{ln_1, self_attention.{in_proj_weight, in_proj_bias,
// out_proj}, ln_2, mlp.0, mlp.3} (LayerNorm eps 1e-6, exact GELU), encoder.ln and
// heads.head applied to the class token. Initialisation as torchvision: conv_proj
// trunc_normal std sqrt(1/fan_in) and bias 0, class token 0, pos_embedding N(0, 0.02),
// MLP xavier_uniform with N(0, 1e-6) biases, attention in_proj xavier_uniform with zero
// biases, LayerNorms 1/0, zero head.
//
// Note: torchvision ≥ 0.14 names the MLP linears mlp.0 / mlp.3 (MLPBlock is a Sequential);
// the older names mlp.linear_1 / mlp.linear_2 are remapped when loading weights.
//
// vit_b_16: 12 layers, 12 heads, hidden 768, MLP 3072, patch 16, image 224
//           (86,567,656 parameters for 3 channels and 1000 classes).
// vit_tiny (DeiT-Ti widths; our CPU variant): 12 layers, 3 heads, hidden 192, MLP 768,
//           patch 8, image 64 (64 patch tokens + class token) — 5,581,480 parameters for
//           3 channels and 1000 classes, 5,388,866 for 2 classes.
// The image must be square with side image_size, a multiple of patch_size.
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "models/classifiers/classifier.h"

namespace frerec::models {

struct ViTConfig {
  int64_t image_size = 224;
  int64_t patch_size = 16;
  int64_t num_layers = 12;
  int64_t num_heads = 12;
  int64_t hidden_dim = 768;
  int64_t mlp_dim = 3072;
  double dropout = 0.0;            // after the embedding, attention output and MLP linears
  double attention_dropout = 0.0;  // on the attention weights
  int64_t in_channels = 3;
  int64_t num_classes = 1000;
  uint64_t seed = 0;
};

ViTConfig vit_b_16_config();
ViTConfig vit_tiny_config();
// Throws ConfigError unless image_size ≥ patch_size, image_size % patch_size == 0 and
// hidden_dim % num_heads == 0; `component` names the model in the message.
void validate_vit_config(const ViTConfig& config, const std::string& component);

// nn.MultiheadAttention(batch_first=True) used as self-attention, with its parameter names.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout);
  torch::Tensor forward(torch::Tensor x);  // [N, L, E] -> [N, L, E]

  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t num_heads_;
  double dropout_;
};
TORCH_MODULE(SelfAttention);

class EncoderBlockImpl : public torch::nn::Module {
 public:
  EncoderBlockImpl(int64_t num_heads, int64_t hidden_dim, int64_t mlp_dim, double dropout, double attention_dropout);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  SelfAttention self_attention{nullptr};
  torch::nn::Sequential mlp{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(EncoderBlock);

class EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(int64_t seq_length, int64_t num_layers, int64_t num_heads, int64_t hidden_dim, int64_t mlp_dim,
              double dropout, double attention_dropout);
  torch::Tensor forward(torch::Tensor x);

  torch::Tensor pos_embedding;
  torch::nn::Sequential layers{nullptr};
  torch::nn::LayerNorm ln{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(Encoder);

class VisionTransformerImpl : public Classifier {
 public:
  explicit VisionTransformerImpl(const ViTConfig& config);

  torch::Tensor features(torch::Tensor x) override;
  torch::Tensor head(torch::Tensor features) override { return heads->forward(features); }
  int64_t feature_dim() const override { return config_.hidden_dim; }
  int64_t num_classes() const override { return config_.num_classes; }
  int64_t in_channels() const override { return config_.in_channels; }
  void reset_parameters(uint64_t seed) override;
  std::string first_conv_key() const override { return "conv_proj.weight"; }
  std::string head_prefix() const override { return "heads."; }
  const ViTConfig& config() const { return config_; }

  torch::Tensor class_token;
  torch::nn::Conv2d conv_proj{nullptr};
  Encoder encoder{nullptr};
  torch::nn::Sequential heads{nullptr};

 private:
  ViTConfig config_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace frerec::models
