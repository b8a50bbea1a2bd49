// The shared checkpoint format (framework/train/checkpoint.h): what is written comes back
// (modules, optimizer state, meta, RNG), the kind and the format are checked, and damaged or
// foreign files are one clear RunError naming the file.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/serialize.h>

#include <filesystem>
#include <fstream>

#include "framework/core/error.h"
#include "framework/train/checkpoint.h"
#include "tests/framework/test_util.h"

namespace frerec::train {
namespace {
namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("frerec_checkpoint_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string message_of(const std::function<void()>& f) { return testing::error_of<RunError>(f); }

TEST_F(CheckpointTest, RoundTripsModulesOptimizerMetaAndRng) {
  torch::manual_seed(3);
  torch::nn::Linear linear(4, 3);
  torch::nn::BatchNorm1d norm(3);
  torch::optim::Adam adam(linear->parameters(), torch::optim::AdamOptions(1e-2));
  // One step so the optimizer has state (moments, step count) worth saving.
  adam.zero_grad();
  norm->forward(linear->forward(at::randn({8, 4}))).pow(2).sum().backward();
  adam.step();

  Checkpoint out;
  out.kind = "test";
  out.fingerprint = "abc";
  out.meta = {{"epoch", 3}, {"history", {1.5, 2.5}}};
  out.add_module("linear", *linear);
  out.add_module("norm", *norm);
  out.add_optimizer("adam", adam);
  out.add_rng();
  const at::Tensor next_after_save = at::rand({5});
  write_checkpoint(dir_ / "a.pt", out);
  EXPECT_TRUE(is_checkpoint(dir_ / "a.pt"));
  EXPECT_FALSE(fs::exists(dir_ / "a.pt.tmp"));

  const Checkpoint in = read_checkpoint(dir_ / "a.pt", "test", "unit");
  EXPECT_EQ(in.fingerprint, "abc");
  EXPECT_EQ(in.meta.at("epoch"), 3);
  EXPECT_EQ(in.meta.at("history").size(), 2u);
  ASSERT_EQ(in.module("linear").size(), 2u);  // weight, bias
  EXPECT_TRUE(at::equal(in.module("linear").at("weight"), linear->weight.detach()));
  EXPECT_TRUE(in.module("norm").count("running_mean"));   // buffers travel too
  EXPECT_TRUE(in.module("norm").count("num_batches_tracked"));

  // The optimizer continues exactly: a second step from the loaded state equals one from the live state.
  torch::nn::Linear copy(4, 3);
  {
    torch::NoGradGuard no_grad;
    copy->weight.copy_(linear->weight);
    copy->bias.copy_(linear->bias);
  }
  torch::optim::Adam loaded(copy->parameters(), torch::optim::AdamOptions(1e-2));
  in.load_optimizer("adam", loaded);
  const at::Tensor x = at::randn({8, 4});
  for (auto* pair : {&adam, &loaded}) pair->zero_grad();
  linear->forward(x).sum().backward();
  copy->forward(x).sum().backward();
  adam.step();
  loaded.step();
  EXPECT_TRUE(at::equal(linear->weight, copy->weight));

  // The stored RNG state gives the draws that followed the save.
  in.restore_rng();
  EXPECT_TRUE(at::equal(at::rand({5}), next_after_save));
}

TEST_F(CheckpointTest, WrongKindDamagedAndForeignFilesAreOneClearError) {
  Checkpoint out;
  out.kind = "dae";
  write_checkpoint(dir_ / "dae.pt", out);
  std::string message = message_of([&] { read_checkpoint(dir_ / "dae.pt", "gan", "generator"); });
  EXPECT_NE(message.find("written by the dae trainer"), std::string::npos) << message;
  EXPECT_NE(message.find("dae.pt"), std::string::npos) << message;

  message = message_of([&] { read_checkpoint(dir_ / "missing.pt", "dae", "dae"); });
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;

  std::ofstream(dir_ / "junk.pt") << "not a pickle";
  message = message_of([&] { read_checkpoint(dir_ / "junk.pt", "dae", "dae"); });
  EXPECT_NE(message.find("unreadable"), std::string::npos) << message;
  EXPECT_FALSE(is_checkpoint(dir_ / "junk.pt"));

  // A pickle of ours that is not a checkpoint (another dict).
  c10::impl::GenericDict other(c10::StringType::get(), c10::AnyType::get());
  other.insert("format", std::string("something-else/1"));
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(other));
  std::ofstream(dir_ / "other.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  message = message_of([&] { read_checkpoint(dir_ / "other.pt", "dae", "dae"); });
  EXPECT_NE(message.find("is not a FreRec checkpoint"), std::string::npos) << message;

  // Cut short: the file is refused, not half-read.
  const std::string whole = [&] {
    std::ifstream in(dir_ / "dae.pt", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  std::ofstream(dir_ / "cut.pt", std::ios::binary) << whole.substr(0, whole.size() / 2);
  EXPECT_THROW(read_checkpoint(dir_ / "cut.pt", "dae", "dae"), RunError);

  EXPECT_THROW(out.module("model"), RunError);
  torch::nn::Linear linear(2, 2);
  torch::optim::Adam adam(linear->parameters());
  EXPECT_THROW(out.load_optimizer("adam", adam), RunError);
}

}  // namespace
}  // namespace frerec::train
