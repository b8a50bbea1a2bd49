// Weight files (safetensors) and the loader's adaptations, against torchvision fixtures
// (tests/golden/models/loading.json): legacy DenseNet names, RGB -> grey first conv, ViT
// position-embedding resizing; plus head re-initialisation and clear errors.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "framework/core/error.h"
#include "framework/io/state_dict.h"
#include "models/classifiers/densenet.h"
#include "models/classifiers/registry.h"
#include "models/classifiers/resnet.h"
#include "models/classifiers/vit.h"
#include "models/classifiers/weights.h"
#include "tests/framework/test_util.h"
#include "tests/models/deterministic_fill.h"

namespace frerec::models {
namespace {

namespace fs = std::filesystem;

const std::string kGolden = std::string(FREREC_SOURCE_DIR) + "/tests/golden/models/";

const nlohmann::json& golden() {
  static const nlohmann::json j = [] {
    std::ifstream in(kGolden + "loading.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

double max_abs_diff(const at::Tensor& a, const std::vector<float>& b) {
  EXPECT_EQ(a.numel(), static_cast<int64_t>(b.size()));
  at::Tensor expected = at::tensor(b).reshape(a.sizes());
  return (a - expected).abs().max().item<double>();
}

// One folder per test binary, removed when it exits.
fs::path temp_file(const std::string& name) {
  static const frerec::testing::TempDir dir;
  return dir / name;
}

DenseNetConfig tiny_densenet(const nlohmann::json& g, int64_t in_channels, int64_t num_classes) {
  DenseNetConfig c;
  c.growth_rate = g.at("growth_rate");
  c.block_config = g.at("block_config").get<std::vector<int64_t>>();
  c.num_init_features = g.at("num_init_features");
  c.bn_size = g.at("bn_size");
  c.in_channels = in_channels;
  c.num_classes = num_classes;
  return c;
}

ViTConfig tiny_vit(const nlohmann::json& g, int64_t image_size) {
  ViTConfig c;
  c.image_size = image_size;
  c.patch_size = g.at("patch_size");
  c.num_layers = g.at("num_layers");
  c.num_heads = g.at("num_heads");
  c.hidden_dim = g.at("hidden_dim");
  c.mlp_dim = g.at("mlp_dim");
  c.num_classes = g.at("num_classes");
  return c;
}

TEST(Weights, LegacyDenseNetFileLoadsAndGivesTorchvisionLogits) {
  const auto& g = golden().at("tiny_densenet");
  DenseNet model(tiny_densenet(g, 3, g.at("num_classes")));
  model->eval();
  const LoadReport report = load_weights(*model, kGolden + "tiny_densenet_legacy.safetensors");
  EXPECT_FALSE(report.renamed.empty());
  EXPECT_TRUE(report.adapted.empty());
  EXPECT_TRUE(report.reinitialised.empty());
  at::NoGradGuard no_grad;
  const int64_t size = g.at("image_size");
  at::Tensor x = testing::deterministic_input(g.at("input_seed_rgb"), {2, 3, size, size});
  EXPECT_LT(max_abs_diff(model->forward(x), g.at("logits_rgb").get<std::vector<float>>()), 1e-5);
}

TEST(Weights, GreyFirstConvSumsKernelsAndNewHeadIsReinitialised) {
  const auto& g = golden().at("tiny_densenet");
  DenseNetConfig config = tiny_densenet(g, 1, 7);
  config.seed = 11;
  DenseNet model(config);
  DenseNet fresh(config);  // the same seed: the head the loader must keep
  model->eval();
  const LoadReport report = load_weights(*model, kGolden + "tiny_densenet_legacy.safetensors");
  ASSERT_EQ(report.adapted.size(), 1u);
  EXPECT_NE(report.adapted[0].find("features.conv0.weight"), std::string::npos);
  EXPECT_EQ(report.reinitialised.size(), 2u);  // classifier.weight and classifier.bias
  EXPECT_TRUE(at::equal(model->classifier->weight, fresh->classifier->weight));
  at::NoGradGuard no_grad;
  const int64_t size = g.at("image_size");
  at::Tensor x = testing::deterministic_input(g.at("input_seed_grey"), {2, 1, size, size});
  EXPECT_LT(max_abs_diff(model->features(x), g.at("features_grey").get<std::vector<float>>()), 1e-5);
}

TEST(Weights, GreyResNetOnGreyImageEqualsRgbResNetOnRepeatedImage) {
  at::set_num_threads(2);
  ResNetConfig rgb_config = resnet18_config();
  rgb_config.num_classes = 4;
  ResNet rgb(rgb_config);
  rgb->eval();
  testing::deterministic_fill(*rgb, 21);
  const fs::path file = temp_file("resnet18.safetensors");
  io::write_safetensors(file, io::state_dict(*rgb), {{"model", "resnet18"}});
  ResNetConfig grey_config = rgb_config;
  grey_config.in_channels = 1;
  ResNet grey(grey_config);
  grey->eval();
  load_weights(*grey, file);
  // Six channels: kernels repeated cyclically and scaled by 3/6.
  ResNetConfig six_config = rgb_config;
  six_config.in_channels = 6;
  ResNet six(six_config);
  six->eval();
  load_weights(*six, file);
  at::NoGradGuard no_grad;
  at::Tensor x = testing::deterministic_input(22, {2, 1, 64, 64});
  at::Tensor expected = rgb->forward(x.expand({2, 3, 64, 64}).contiguous());
  EXPECT_LT((grey->forward(x) - expected).abs().max().item<double>(), 1e-4);
  EXPECT_LT((six->forward(x.expand({2, 6, 64, 64}).contiguous()) - expected).abs().max().item<double>(), 1e-4);
  fs::remove(file);
}

// normalize: auto means ImageNet statistics exactly when `pretrained` is set (what torchvision's
// weights expect); the model then computes on (x − mean) / std, for every family; none and
// imagenet force it; the statistics are not in the state dict.
TEST(Weights, PretrainedModelsNormaliseTheirInputAsImageNetWeightsExpect) {
  at::set_num_threads(2);
  register_classifiers();
  for (const char* name : {"resnet18", "densenet_small", "vit_tiny"}) {
    const auto plain = create_classifier(name, YAML::Load("{seed: 3, image_size: 64}"));
    plain->eval();
    const fs::path file = temp_file(std::string(name) + ".safetensors");
    io::write_safetensors(file, io::state_dict(*plain), {{"model", name}});
    const auto pretrained = create_classifier(name, YAML::Load("{image_size: 64, pretrained: '" + file.string() + "'}"));
    pretrained->eval();
    ASSERT_EQ(pretrained->input_mean(), (std::vector<double>{0.485, 0.456, 0.406})) << name;
    ASSERT_EQ(pretrained->input_std(), (std::vector<double>{0.229, 0.224, 0.225})) << name;
    EXPECT_EQ(io::state_dict(*pretrained).size(), io::state_dict(*plain).size()) << name;
    at::NoGradGuard no_grad;
    const at::Tensor x = testing::deterministic_input(5, {2, 3, 64, 64}).clamp(0, 1);
    const at::Tensor mean = at::tensor(std::vector<float>{0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
    const at::Tensor std = at::tensor(std::vector<float>{0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
    // features(): torchvision's ViT head starts at zero, so its logits would not tell.
    EXPECT_LT((pretrained->features(x) - plain->features((x - mean) / std)).abs().max().item<double>(), 1e-4) << name;
    EXPECT_GT((pretrained->features(x) - plain->features(x)).abs().max().item<double>(), 1e-3) << name;
    const auto none = create_classifier(name, YAML::Load("{image_size: 64, normalize: none, pretrained: '" +
                                                         file.string() + "'}"));
    EXPECT_TRUE(none->input_mean().empty()) << name;
    fs::remove(file);
  }
  EXPECT_TRUE(create_classifier("resnet18", YAML::Load("{}"))->input_mean().empty());
  const auto grey = create_classifier("resnet18", YAML::Load("{in_channels: 1, normalize: imagenet}"));
  ASSERT_EQ(grey->input_mean().size(), 1u);
  EXPECT_NEAR(grey->input_mean()[0], 0.449, 1e-12);
  EXPECT_NEAR(grey->input_std()[0], 0.226, 1e-12);
  EXPECT_EQ(create_classifier("resnet18", YAML::Load("{in_channels: 4, normalize: imagenet}"))->input_mean(),
            (std::vector<double>{0.485, 0.456, 0.406, 0.485}));
  EXPECT_THROW(create_classifier("resnet18", YAML::Load("{normalize: zscore}")), ConfigError);
}

TEST(Weights, VitPositionEmbeddingsResizedLikeTorchvision) {
  const auto& g = golden().at("tiny_vit");
  at::NoGradGuard no_grad;
  {
    VisionTransformer same(tiny_vit(g, 16));
    same->eval();
    const LoadReport report = load_weights(*same, kGolden + "tiny_vit.safetensors");
    EXPECT_TRUE(report.adapted.empty());
    at::Tensor x = testing::deterministic_input(g.at("input_seed_16"), {2, 3, 16, 16});
    EXPECT_LT(max_abs_diff(same->forward(x), g.at("logits_16").get<std::vector<float>>()), 1e-5);
  }
  for (const std::string mode : {"bilinear", "bicubic"}) {
    VisionTransformer big(tiny_vit(g, 32));
    big->eval();
    LoadOptions options;
    options.pos_embedding_interpolation = mode;
    const LoadReport report = load_weights(*big, kGolden + "tiny_vit.safetensors", options);
    ASSERT_EQ(report.adapted.size(), 1u) << mode;
    EXPECT_NE(report.adapted[0].find("encoder.pos_embedding"), std::string::npos);
    at::Tensor x = testing::deterministic_input(g.at("input_seed_32"), {2, 3, 32, 32});
    EXPECT_LT(max_abs_diff(big->forward(x), g.at("logits_32_" + mode).get<std::vector<float>>()), 1e-5) << mode;
  }
}

TEST(Weights, PosEmbeddingResizeKeepsClassTokenAndConstants) {
  at::Tensor pe = at::full({1, 1 + 16, 3}, 0.25);
  pe.select(1, 0).fill_(-1.0);
  at::Tensor r = resize_pos_embedding(pe, 6, "bilinear");
  EXPECT_EQ(r.sizes(), (std::vector<int64_t>{1, 37, 3}));
  EXPECT_TRUE(at::allclose(r.select(1, 0), pe.select(1, 0)));
  EXPECT_TRUE(at::allclose(r.narrow(1, 1, 36), at::full({1, 36, 3}, 0.25)));
  EXPECT_TRUE(at::equal(resize_pos_embedding(pe, 4, "bicubic"), pe));
  EXPECT_THROW(resize_pos_embedding(pe, 6, "nearest"), ConfigError);
  EXPECT_THROW(resize_pos_embedding(at::zeros({1, 1 + 15, 3}), 6, "bilinear"), RunError);
}

TEST(Weights, PatchSizeChangeResizesTheKernel) {
  const auto& g = golden().at("tiny_vit");
  ViTConfig c = tiny_vit(g, 16);
  c.patch_size = 4;  // 4x4 grid of 4x4 patches from a model trained with 2x2 patches of 8
  VisionTransformer model(c);
  const LoadReport report = load_weights(*model, kGolden + "tiny_vit.safetensors");
  EXPECT_EQ(report.adapted.size(), 2u);  // conv_proj.weight and encoder.pos_embedding
  // A flat image gives the same patch embedding as with the original 8x8 kernel.
  const StateDict file = io::read_safetensors(kGolden + "tiny_vit.safetensors");
  at::Tensor original;
  for (const auto& [k, t] : file) {
    if (k == "conv_proj.weight") original = t;
  }
  ASSERT_TRUE(original.defined());
  EXPECT_TRUE(at::allclose(model->conv_proj->weight.sum({2, 3}), original.sum({2, 3}), 1e-5, 1e-6));
}

TEST(Weights, SafetensorsRoundTripKeepsOrderValuesAndDtypes) {
  StateDict sd = {{"b.weight", at::randn({2, 3})}, {"a.num_batches_tracked", at::tensor(int64_t{7})},
                  {"c", at::arange(5, at::kFloat)}};
  const fs::path file = temp_file("roundtrip.safetensors");
  io::write_safetensors(file, sd, {{"note", "x"}});
  const StateDict back = io::read_safetensors(file);
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].first, sd[i].first);
    EXPECT_TRUE(at::equal(back[i].second, sd[i].second)) << sd[i].first;
  }
  EXPECT_EQ(back[1].second.scalar_type(), at::kLong);
  fs::remove(file);
}

TEST(Weights, CorruptFilesGiveRunErrors) {
  const fs::path file = temp_file("bad.safetensors");
  auto write = [&](const std::string& bytes) { std::ofstream(file, std::ios::binary) << bytes; };
  write("abc");
  EXPECT_THROW(io::read_safetensors(file), RunError);
  std::string huge(8, '\xff');
  write(huge + "{}");
  EXPECT_THROW(io::read_safetensors(file), RunError);
  auto with_header = [](const std::string& json) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
    return s + json;
  };
  write(with_header("{not json"));
  EXPECT_THROW(io::read_safetensors(file), RunError);
  write(with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})") + std::string(8, '\0'));
  EXPECT_THROW(io::read_safetensors(file), RunError);  // truncated data
  write(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})") + std::string(16, '\0'));
  EXPECT_THROW(io::read_safetensors(file), RunError);  // size does not match the shape
  write(with_header(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})") + std::string(4, '\0'));
  EXPECT_THROW(io::read_safetensors(file), RunError);
  EXPECT_THROW(io::read_safetensors(temp_file("does_not_exist.safetensors")), RunError);
  fs::remove(file);
}

TEST(Weights, MismatchedWeightsListTheKeys) {
  const auto& g = golden().at("tiny_densenet");
  DenseNet model(tiny_densenet(g, 3, 3));
  StateDict sd = io::read_safetensors(kGolden + "tiny_densenet_legacy.safetensors");
  auto message = [&](StateDict weights) {
    try {
      load_state_dict(*model, std::move(weights));
    } catch (const RunError& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  StateDict missing(sd.begin() + 1, sd.end());  // drop features.conv0.weight
  EXPECT_NE(message(missing).find("missing keys: features.conv0.weight"), std::string::npos) << message(missing);
  StateDict extra = sd;
  extra.emplace_back("features.extra.weight", at::zeros({2}));
  EXPECT_NE(message(extra).find("unexpected keys: features.extra.weight"), std::string::npos);
  StateDict wrong = sd;
  for (auto& [k, t] : wrong) {
    if (k == "features.norm5.weight") t = at::zeros({99});
  }
  EXPECT_NE(message(wrong).find("features.norm5.weight file [99]"), std::string::npos) << message(wrong);
  // Nothing was copied by the failed loads: a successful load still gives the fixture.
  EXPECT_NO_THROW(load_state_dict(*model, sd));
}

TEST(Weights, LegacyKeyRemapping) {
  EXPECT_EQ(remap_legacy_key("features.denseblock1.denselayer1.norm.1.weight"),
            "features.denseblock1.denselayer1.norm1.weight");
  EXPECT_EQ(remap_legacy_key("features.denseblock4.denselayer16.conv.2.weight"),
            "features.denseblock4.denselayer16.conv2.weight");
  EXPECT_EQ(remap_legacy_key("features.denseblock2.denselayer3.norm.2.running_var"),
            "features.denseblock2.denselayer3.norm2.running_var");
  EXPECT_EQ(remap_legacy_key("encoder.layers.encoder_layer_0.mlp.linear_1.weight"),
            "encoder.layers.encoder_layer_0.mlp.0.weight");
  EXPECT_EQ(remap_legacy_key("encoder.layers.encoder_layer_3.mlp.linear_2.bias"),
            "encoder.layers.encoder_layer_3.mlp.3.bias");
  EXPECT_EQ(remap_legacy_key("features.transition1.norm.weight"), "features.transition1.norm.weight");
  EXPECT_EQ(remap_legacy_key("layer1.0.conv1.weight"), "layer1.0.conv1.weight");
}

}  // namespace
}  // namespace frerec::models
