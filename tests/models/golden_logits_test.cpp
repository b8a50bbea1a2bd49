// Logits equal torchvision's (tests/golden/models/logits.json) when every parameter and
// buffer is set by the deterministic fill shared with make_golden.py. Eval mode (BN uses
// the filled running statistics).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "models/classifiers/classifier.h"
#include "models/classifiers/registry.h"
#include "tests/models/deterministic_fill.h"
#include "tests/models/test_device.h"

namespace frerec::models {
namespace {

const nlohmann::json& golden() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(FREREC_SOURCE_DIR) + "/tests/golden/models/logits.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

class GoldenLogits : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenLogits, MatchTorchvisionTo1e4) {
  at::set_num_threads(2);
  const std::string name = GetParam();
  const auto& g = golden().at(name);
  register_classifiers();
  YAML::Node settings = YAML::Load(g.at("settings").dump());  // JSON is YAML
  auto model = create_classifier(name, settings);
  model->eval();
  const uint64_t seed = g.at("seed").get<uint64_t>();
  testing::deterministic_fill(*model, seed);
  at::Tensor x = testing::deterministic_input(seed, g.at("input_shape").get<std::vector<int64_t>>());
  const at::Device device = frerec::testing::test_device();
  model->to(device);
  at::NoGradGuard no_grad;
  at::Tensor logits = model->forward(x.to(device)).flatten().to(at::kCPU);
  const auto expected = g.at("logits").get<std::vector<float>>();
  ASSERT_EQ(logits.numel(), static_cast<int64_t>(expected.size()));
  double max_diff = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(logits[i].item<double>() - expected[i]));
  }
  EXPECT_LT(max_diff, 1e-4) << name;
  // The fixture is not trivial: logits differ between samples and classes.
  EXPECT_GT(logits.std().item<double>(), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenLogits,
                         ::testing::Values("resnet18", "resnet50", "densenet121", "densenet_small", "vit_b_16",
                                           "vit_tiny"));

TEST(DeterministicFill, MatchesTheDocumentedFormula) {
  // SplitMix64 of 0 is 0xE220A8397B1DCDAF (the reference sequence's first output).
  const double u = testing::deterministic_uniform(0, 0, 0);
  EXPECT_DOUBLE_EQ(u, static_cast<double>(0xE220A8397B1DCDAFULL >> 40) / (1u << 23) - 1.0);
  for (uint64_t i = 0; i < 1000; ++i) {
    const double v = testing::deterministic_uniform(3, 5, i);
    EXPECT_GE(v, -1.0);
    EXPECT_LT(v, 1.0);
  }
}

}  // namespace
}  // namespace frerec::models
