// Smoke test: each online method's hooks inside a real Trainer run (one epoch of a tiny CNN
// on 16 random images): the loss is finite, AFA's auxiliary BatchNorm statistics are
// trained alongside the main ones, and two runs with the same seed give the same weights.
#include <gtest/gtest.h>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/functional.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/utils.h>

#include "augmentations/method.h"
#include "framework/train/trainer.h"

namespace frerec::augmentations {
namespace {

std::shared_ptr<train::VectorSampleSource> random_images(int channels) {
  auto source = std::make_shared<train::VectorSampleSource>();
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int i = 0; i < 16; ++i) {
    train::Sample s;
    s.image = Image(channels, 12, 12);
    for (float& v : s.image.data) v = u(rng) * (i % 2 ? 1.0f : 0.5f);
    s.label = i % 2;
    s.id = "img" + std::to_string(i);
    source->add(std::move(s));
  }
  return source;
}

struct RunResult {
  double loss;
  std::vector<torch::Tensor> state;
  torch::nn::Sequential model{nullptr};
};

RunResult train_one_epoch(const std::string& method, int channels) {
  namespace nn = torch::nn;
  register_all();
  torch::manual_seed(0);
  auto model = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(channels, 4, 3).padding(1)), nn::BatchNorm2d(4), nn::ReLU(),
                              nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)), nn::Flatten(), nn::Linear(4, 2));
  train::ModelHandle handle = train::make_model_handle(model);
  train::TrainerOptions options;
  options.epochs = 1;
  options.batch_size = 8;
  options.workers = 0;
  options.warmup_epochs = 0.0;
  options.lr = 1e-2;
  options.threads = 1;
  options.seed = 3;
  train::Trainer trainer(options);
  const config::Params section(method_section_schema().validate(YAML::Node(), "method", config::Provenance()), "method");
  const ComponentInfo* info = Catalog::instance().find("methods", method);
  const config::Params params(info->schema->validate(YAML::Node(), "method." + method, config::Provenance()),
                              "method." + method);
  datasets::TaskData task;
  RunContext run;
  CellData cell{task, section, params, config::Params(), 3, run};
  add_base_transforms(trainer, section);
  auto instance = method_registry().create(method, params);
  instance->configure(trainer, handle, cell);
  const auto source = random_images(channels);
  const train::TrainResult result = trainer.fit(handle, *source, nullptr, "");
  RunResult out;
  out.loss = result.history.at(0).train_loss;
  for (const auto& t : model->named_buffers()) out.state.push_back(t.value().clone());
  for (const auto& t : model->named_parameters()) out.state.push_back(t.value().detach().clone());
  out.model = model;
  return out;
}

class MethodSmoke : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(MethodSmoke, TrainsOneEpochDeterministically) {
  const auto [method, channels] = GetParam();
  const RunResult a = train_one_epoch(method, channels);
  EXPECT_TRUE(std::isfinite(a.loss)) << method;
  const RunResult b = train_one_epoch(method, channels);
  ASSERT_EQ(a.state.size(), b.state.size());
  for (std::size_t i = 0; i < a.state.size(); ++i) EXPECT_TRUE(torch::equal(a.state[i], b.state[i])) << method << " " << i;
  if (method == "afa") {
    const auto buffers = a.model->named_buffers();
    EXPECT_EQ(buffers["1.num_batches_tracked"].item<int64_t>(), 2);      // 16 images / batch 8
    EXPECT_EQ(buffers["1.aux_num_batches_tracked"].item<int64_t>(), 2);  // and the AFA branch too
    EXPECT_FALSE(torch::equal(buffers["1.running_mean"], buffers["1.aux_running_mean"]));
    // The optimiser saw the auxiliary parameters: they moved from their initial copy (1, 0).
    const auto params = a.model->named_parameters();
    EXPECT_FALSE(torch::equal(params["1.aux_weight"], torch::ones({4})));
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, MethodSmoke,
                         ::testing::Values(std::make_tuple("raw", 1), std::make_tuple("autoaugment", 1),
                                           std::make_tuple("autoaugment", 3), std::make_tuple("mixup", 1),
                                           std::make_tuple("afa", 3)));

}  // namespace
}  // namespace frerec::augmentations
