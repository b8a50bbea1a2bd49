// Module tree, state-dict names and shapes, parameter counts (fixture from torchvision,
// tests/golden/models/state_dicts.txt), the registry's schema and errors, seeded init.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <fstream>
#include <map>
#include <sstream>

#include "framework/core/error.h"
#include "framework/core/registry.h"
#include "framework/io/state_dict.h"
#include "models/classifiers/classifier.h"
#include "models/classifiers/registry.h"
#include "models/classifiers/weights.h"

namespace frerec::models {
namespace {

struct GoldenArch {
  int64_t parameters = 0;
  std::vector<std::pair<std::string, std::string>> entries;  // key, "d0,d1,..."
};

std::map<std::string, GoldenArch> read_golden() {
  std::ifstream in(std::string(FREREC_SOURCE_DIR) + "/tests/golden/models/state_dicts.txt");
  EXPECT_TRUE(in.good());
  std::map<std::string, GoldenArch> out;
  std::string line, current;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    if (line.rfind("# ", 0) == 0) {
      std::string hash, channels, classes;
      ss >> hash >> current >> channels >> classes >> out[current].parameters;
    } else if (!line.empty()) {
      std::string key, shape;
      ss >> key >> shape;
      out[current].entries.emplace_back(key, shape);
    }
  }
  return out;
}

std::string shape_of(const at::Tensor& t) {
  std::string s;
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s;
}

at::Tensor entry(const StateDict& sd, const std::string& key) {
  for (const auto& [k, t] : sd) {
    if (k == key) return t;
  }
  ADD_FAILURE() << "no state-dict entry " << key;
  return at::zeros({1});
}

std::shared_ptr<Classifier> make(const std::string& name, const std::string& yaml) {
  register_classifiers();
  return create_classifier(name, YAML::Load(yaml));
}

class Architecture : public ::testing::TestWithParam<std::string> {};

TEST_P(Architecture, StateDictNamesShapesAndCountMatchTorchvision) {
  static const auto golden = read_golden();
  const std::string name = GetParam();
  ASSERT_TRUE(golden.count(name)) << name;
  const GoldenArch& expected = golden.at(name);
  auto model = make(name, "{in_channels: 3, num_classes: 1000}");
  const StateDict sd = io::state_dict(*model);
  ASSERT_EQ(sd.size(), expected.entries.size()) << name;
  for (size_t i = 0; i < sd.size(); ++i) {
    EXPECT_EQ(sd[i].first, expected.entries[i].first) << name << " entry " << i;
    EXPECT_EQ(shape_of(sd[i].second), expected.entries[i].second) << sd[i].first;
  }
  EXPECT_EQ(count_parameters(*model), expected.parameters);
  if (name == "resnet50" || name == "densenet121" || name == "vit_b_16") return;  // details builds it again: slow
  const ComponentInfo* info = Catalog::instance().find("models", name);
  ASSERT_NE(info, nullptr);
  ASSERT_TRUE(info->details);
  config::Params params(info->schema->validate(YAML::Load("{num_classes: 1000}"), "model", config::Provenance{}),
                        "model");
  EXPECT_EQ(info->details(params), "parameters: " + std::to_string(expected.parameters));
}

INSTANTIATE_TEST_SUITE_P(Models, Architecture,
                         ::testing::Values("resnet18", "resnet50", "densenet121", "densenet_small", "vit_b_16",
                                           "vit_tiny"));

TEST(Classifiers, FeaturesFeedTheHeadAndShapesFollowTheConfig) {
  at::set_num_threads(2);
  struct Case {
    std::string name, yaml;
    int64_t image, feature_dim;
  };
  const std::vector<Case> cases = {
      {"resnet18", "{in_channels: 1, num_classes: 3}", 64, 512},
      {"densenet_small", "{in_channels: 1, num_classes: 3}", 64, 206},
      {"vit_tiny", "{in_channels: 1, num_classes: 3, image_size: 32, patch_size: 8}", 32, 192},
  };
  for (const auto& c : cases) {
    auto model = make(c.name, c.yaml);
    model->eval();
    at::NoGradGuard no_grad;
    at::Tensor x = at::rand({2, 1, c.image, c.image});
    at::Tensor f = model->features(x);
    EXPECT_EQ(f.sizes(), (std::vector<int64_t>{2, c.feature_dim})) << c.name;
    EXPECT_EQ(model->feature_dim(), c.feature_dim);
    EXPECT_EQ(model->in_channels(), 1);
    EXPECT_EQ(model->num_classes(), 3);
    at::Tensor logits = model->forward(x);
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 3})) << c.name;
    EXPECT_TRUE(at::allclose(logits, model->head(f))) << c.name;
  }
}

TEST(Classifiers, InitialisationIsSeededAndFollowsTorchvision) {
  auto a = make("resnet18", "{seed: 7}");
  auto b = make("resnet18", "{seed: 7}");
  auto c = make("resnet18", "{seed: 8}");
  const StateDict sa = io::state_dict(*a), sb = io::state_dict(*b), sc = io::state_dict(*c);
  bool any_different = false;
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_TRUE(at::equal(sa[i].second, sb[i].second)) << sa[i].first;
    if (sa[i].second.is_floating_point() && !at::equal(sa[i].second, sc[i].second)) any_different = true;
  }
  EXPECT_TRUE(any_different);
  // kaiming_normal fan_out: layer4.0.conv2 is 512x512x3x3 -> std sqrt(2 / (512*9)).
  EXPECT_NEAR(entry(sa, "layer4.0.conv2.weight").std().item<double>(), std::sqrt(2.0 / (512 * 9)), 2e-4);
  EXPECT_TRUE(at::equal(entry(sa, "layer1.0.bn1.weight"), at::ones({64})));
  EXPECT_LE(entry(sa, "fc.weight").abs().max().item<double>(), 1.0 / std::sqrt(512.0) + 1e-7);
  // ViT: zero head and class token, pos_embedding N(0, 0.02).
  const StateDict sv = io::state_dict(*make("vit_tiny", "{seed: 1}"));
  EXPECT_EQ(entry(sv, "heads.head.weight").abs().sum().item<double>(), 0.0);
  EXPECT_EQ(entry(sv, "class_token").abs().sum().item<double>(), 0.0);
  EXPECT_NEAR(entry(sv, "encoder.pos_embedding").std().item<double>(), 0.02, 1e-3);
}

TEST(Classifiers, RegistryDefaultsAndSchema) {
  register_classifiers();
  for (const char* name : {"resnet18", "resnet50", "densenet121", "densenet_small", "vit_b_16", "vit_tiny"}) {
    const ComponentInfo* info = Catalog::instance().find("models", name);
    ASSERT_NE(info, nullptr) << name;
    for (const char* key : {"in_channels", "num_classes", "image_size", "pretrained", "seed"}) {
      EXPECT_NE(info->schema->find(key), nullptr) << name << "." << key;
    }
    EXPECT_FALSE(info->description.empty());
  }
  EXPECT_NE(Catalog::instance().find("models", "vit_tiny")->schema->find("patch_size"), nullptr);
  EXPECT_NE(Catalog::instance().find("models", "densenet121")->schema->find("dropout"), nullptr);
  auto model = make("densenet_small", "{}");
  EXPECT_EQ(model->num_classes(), 2);
  EXPECT_EQ(model->in_channels(), 3);
}

template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Classifiers, BadConfigGivesClearErrors) {
  register_classifiers();
  EXPECT_NE(error_of<ConfigError>([] { make("resnet51", "{}"); }).find("resnet50"), std::string::npos);
  const std::string small = error_of<ConfigError>([] { make("vit_tiny", "{image_size: 4, patch_size: 8}"); });
  EXPECT_NE(small.find("image_size=4 is smaller than patch_size=8"), std::string::npos) << small;
  const std::string odd = error_of<ConfigError>([] { make("vit_b_16", "{image_size: 100}"); });
  EXPECT_NE(odd.find("image_size=100 must be a multiple of patch_size=16"), std::string::npos) << odd;
  const std::string cnn = error_of<ConfigError>([] { make("densenet_small", "{image_size: 16}"); });
  EXPECT_NE(cnn.find("image_size=16 is too small"), std::string::npos) << cnn;
  // Wrong types and ranges are the schema's job (ConfigError naming the key).
  EXPECT_NE(error_of<ConfigError>([] { make("resnet18", "{in_channels: 0}"); }).find("in_channels"),
            std::string::npos);
  const std::string missing = error_of<RunError>([] { make("resnet18", "{pretrained: /nonexistent/w.safetensors}"); });
  EXPECT_NE(missing.find("/nonexistent/w.safetensors"), std::string::npos) << missing;
}

TEST(Classifiers, WrongInputGivesRunErrors) {
  auto model = make("vit_tiny", "{in_channels: 1, image_size: 32}");
  at::NoGradGuard no_grad;
  const std::string channels = error_of<RunError>([&] { model->forward(at::zeros({1, 3, 32, 32})); });
  EXPECT_NE(channels.find("[1,3,32,32]"), std::string::npos) << channels;
  const std::string size = error_of<RunError>([&] { model->forward(at::zeros({1, 1, 64, 64})); });
  EXPECT_NE(size.find("image_size=32"), std::string::npos) << size;
  auto cnn = make("resnet18", "{}");
  EXPECT_NE(error_of<RunError>([&] { cnn->forward(at::zeros({3, 64, 64})); }).find("in_channels"), std::string::npos);
}

}  // namespace
}  // namespace frerec::models
