#include "models/classifiers/registry.h"

#include <functional>

#include "framework/core/error.h"
#include "models/classifiers/densenet.h"
#include "models/classifiers/resnet.h"
#include "models/classifiers/vit.h"
#include "models/classifiers/weights.h"

namespace frerec::models {

namespace {

constexpr const char* kKind = "models";
// The stem (stride 4) and three stride-2 stages reduce the side by 32.
constexpr long kMinCnnImage = 32;

config::Schema common_schema(long image_size_default) {
  config::Schema s;
  s.add_int("in_channels", 3, "input image channels (1 for MRI and X-ray, 3 for fundus)", 1);
  s.add_int("num_classes", 2, "number of output logits", 1);
  s.add_int("image_size", image_size_default, "side of the square input images in pixels", 1);
  s.add_optional("pretrained", config::Type::kString,
                 "safetensors weight file from tools/export_torchvision_weights.py (first conv, head and "
                 "position embeddings are adapted; see models/classifiers/weights.h)");
  s.add_string("normalize", "auto",
               "input normalisation: imagenet ((x - mean) / std with ImageNet's statistics, what torchvision's "
               "weights expect; grey images use their channel means 0.449 / 0.226), none (the [0, 1] images), "
               "auto (imagenet when `pretrained` is set, else none)",
               {"auto", "imagenet", "none"});
  s.add_int("seed", 0, "seed of the parameter initialisation", 0);
  return s;
}

struct Common {
  int64_t in_channels, num_classes, image_size;
  uint64_t seed;
};

Common read_common(const config::Params& p) {
  return Common{p.get<int64_t>("in_channels"), p.get<int64_t>("num_classes"), p.get<int64_t>("image_size"),
                static_cast<uint64_t>(p.get<int64_t>("seed"))};
}

void check_cnn_image_size(const std::string& name, int64_t image_size) {
  if (image_size < kMinCnnImage) {
    throw ConfigError(name + ": image_size=" + std::to_string(image_size) + " is too small; the network divides it by " +
                      std::to_string(kMinCnnImage) + ", so use at least " + std::to_string(kMinCnnImage));
  }
}

std::shared_ptr<Classifier> finish(std::shared_ptr<Classifier> model, const config::Params& p) {
  if (p.has("pretrained")) load_weights(*model, p.get<std::string>("pretrained"));
  const std::string normalize = p.get_or<std::string>("normalize", "auto");
  if (normalize == "imagenet" || (normalize == "auto" && p.has("pretrained"))) {
    auto [mean, std] = imagenet_statistics(model->in_channels());
    model->set_input_normalization(std::move(mean), std::move(std));
  }
  return model;
}

using Builder = std::function<std::shared_ptr<Classifier>(const config::Params&)>;

Builder resnet_builder(const std::string& name, ResNetConfig (*preset)()) {
  return [name, preset](const config::Params& p) -> std::shared_ptr<Classifier> {
    const Common c = read_common(p);
    check_cnn_image_size(name, c.image_size);
    ResNetConfig cfg = preset();
    cfg.in_channels = c.in_channels;
    cfg.num_classes = c.num_classes;
    cfg.seed = c.seed;
    return finish(ResNet(cfg).ptr(), p);
  };
}

Builder densenet_builder(const std::string& name, DenseNetConfig (*preset)()) {
  return [name, preset](const config::Params& p) -> std::shared_ptr<Classifier> {
    const Common c = read_common(p);
    check_cnn_image_size(name, c.image_size);
    DenseNetConfig cfg = preset();
    cfg.in_channels = c.in_channels;
    cfg.num_classes = c.num_classes;
    cfg.seed = c.seed;
    cfg.drop_rate = p.get<double>("dropout");
    return finish(DenseNet(cfg).ptr(), p);
  };
}

Builder vit_builder(const std::string& name, ViTConfig (*preset)()) {
  return [name, preset](const config::Params& p) -> std::shared_ptr<Classifier> {
    const Common c = read_common(p);
    ViTConfig cfg = preset();
    cfg.in_channels = c.in_channels;
    cfg.num_classes = c.num_classes;
    cfg.seed = c.seed;
    cfg.image_size = c.image_size;
    cfg.patch_size = p.get<int64_t>("patch_size");
    cfg.dropout = p.get<double>("dropout");
    cfg.attention_dropout = p.get<double>("attention_dropout");
    validate_vit_config(cfg, name);
    return finish(VisionTransformer(cfg).ptr(), p);
  };
}

void add(const std::string& name, const std::string& description, config::Schema schema, Builder builder) {
  auto details = [builder](const config::Params& p) {
    YAML::Node node = YAML::Clone(p.node());
    node.remove("pretrained");
    const config::Params no_weights(node, p.prefix());
    return "parameters: " + std::to_string(count_parameters(*builder(no_weights)));
  };
  classifier_registry().add(name, description, std::move(schema),
                            [builder](const config::Params& p) { return builder(p); }, details);
}

}  // namespace

ClassifierRegistry& classifier_registry() {
  static ClassifierRegistry registry(kKind);
  return registry;
}

void register_classifiers() {
  config::Schema cnn = common_schema(224);
  add("resnet18", "ResNet-18 (torchvision-exact; 11,689,512 parameters at 3 channels / 1000 classes)", cnn,
      resnet_builder("resnet18", resnet18_config));
  add("resnet50", "ResNet-50 v1.5 (torchvision-exact; 25,557,032 parameters at 3 channels / 1000 classes)", cnn,
      resnet_builder("resnet50", resnet50_config));

  config::Schema dense = common_schema(224);
  dense.add_float("dropout", 0.0, "dropout rate after every dense layer (torchvision drop_rate)", 0.0, 0.99);
  add("densenet121", "DenseNet-121 (torchvision-exact; 7,978,856 parameters at 3 channels / 1000 classes)", dense,
      densenet_builder("densenet121", densenet121_config));
  add("densenet_small",
      "small DenseNet-BC for CPU runs: growth 12, blocks (4,8,12,8), 64 initial features (630,500 parameters at "
      "3 channels / 1000 classes)",
      dense, densenet_builder("densenet_small", densenet_small_config));

  auto vit_schema = [](long image_size, long patch_size) {
    config::Schema s = common_schema(image_size);
    s.add_int("patch_size", patch_size, "side of the square patches (image_size must be a multiple)", 1);
    s.add_float("dropout", 0.0, "dropout after the embedding, attention output and MLP linears", 0.0, 0.99);
    s.add_float("attention_dropout", 0.0, "dropout on the attention weights", 0.0, 0.99);
    return s;
  };
  add("vit_b_16", "ViT-B/16 (torchvision-exact; 86,567,656 parameters at 224² / 3 channels / 1000 classes)",
      vit_schema(224, 16), vit_builder("vit_b_16", vit_b_16_config));
  add("vit_tiny",
      "ViT-Tiny for CPU runs: 192 wide, 12 layers, 3 heads, MLP 768, patch 8 at 64² (5,581,480 parameters at "
      "3 channels / 1000 classes)",
      vit_schema(64, 8), vit_builder("vit_tiny", vit_tiny_config));
}

std::shared_ptr<Classifier> create_classifier(const std::string& name, const config::Params& params) {
  return classifier_registry().create(name, params);
}

std::shared_ptr<Classifier> create_classifier(const std::string& name, const YAML::Node& overrides) {
  const ComponentInfo& info = Catalog::instance().require(kKind, name, "model");
  YAML::Node validated = info.schema->validate(overrides, "model", config::Provenance{});
  return create_classifier(name, config::Params(validated, "model"));
}

}  // namespace frerec::models
