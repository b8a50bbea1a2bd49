// Restormer equals the official implementation numerically (swz30/Restormer,
// basicsr/models/archs/restormer_arch.py): two golden cases made with the official PyTorch
// code — seeded random weights, a fixed input, its output (tests/golden/restoration/README.md).
// The official state dict loads strictly into `restormer` built with the same constructor
// arguments, and the eval-mode output matches to 1e-5. The `bias: true` case also pins that
// patch_embed has no bias while the output conv has one, as in the official network.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <string>

#include "framework/cache/hdf5_io.h"
#include "framework/io/state_dict.h"
#include "models/restoration/restormer.h"
#include "models/restoration/weights.h"
#include "tests/models/test_device.h"

namespace frerec::restoration {
namespace {

std::string golden_path(const std::string& file) {
  return std::string(FREREC_SOURCE_DIR) + "/tests/golden/restoration/" + file;
}

at::Tensor read_tensor(const h5::File& file, const std::string& name) {
  std::vector<hsize_t> dims;
  std::vector<float> values = h5::read_array<float>(file, name, &dims);
  std::vector<int64_t> shape(dims.begin(), dims.end());
  return at::from_blob(values.data(), shape, at::kFloat).clone();
}

RestormerOptions options_of(const nlohmann::json& constructor) {
  RestormerOptions o;
  o.in_channels = constructor.at("inp_channels");
  o.out_channels = constructor.at("out_channels");
  o.dim = constructor.at("dim");
  const auto blocks = constructor.at("num_blocks").get<std::vector<int>>();
  const auto heads = constructor.at("heads").get<std::vector<int>>();
  for (int i = 0; i < 4; ++i) {
    o.num_blocks[i] = blocks.at(i);
    o.heads[i] = heads.at(i);
  }
  o.num_refinement_blocks = constructor.at("num_refinement_blocks");
  o.ffn_expansion_factor = constructor.at("ffn_expansion_factor");
  o.bias = constructor.at("bias");
  o.layernorm = constructor.at("LayerNorm_type");
  o.fesa = false;
  return o;
}

class OfficialRestormer : public ::testing::TestWithParam<std::string> {};

TEST_P(OfficialRestormer, LoadsStrictlyAndMatchesTheOfficialOutput) {
  torch::set_num_threads(2);
  const std::string name = GetParam();
  h5::File io(golden_path(name + ".io.h5"), "r");
  const auto constructor = nlohmann::json::parse(h5::read_attribute(io, "constructor"));
  const RestormerOptions options = options_of(constructor);
  Restormer net(options);
  // Parameter counts of the official modules (the README's table; the file's attribute is an integer).
  EXPECT_EQ(count_parameters(net), name == "tiny_gray_withbias" ? 207793 : 225265);
  const auto report = io::load_state(*net, read_weights(golden_path(name + ".weights.h5")), /*strict=*/true,
                                     name + ".weights.h5");
  EXPECT_TRUE(report.missing.empty() && report.unexpected.empty() && report.shape_mismatch.empty())
      << report.summary();
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor input = read_tensor(io, "input");
  const at::Tensor expected = read_tensor(io, "output");
  const at::Device device = frerec::testing::test_device();
  net->to(device);
  const at::Tensor output = net->forward(input.to(device)).to(at::kCPU);
  ASSERT_EQ(output.sizes(), expected.sizes());
  EXPECT_LE((output - expected).abs().max().item<double>(), 1e-5) << name;
}

INSTANTIATE_TEST_SUITE_P(Cases, OfficialRestormer, ::testing::Values("tiny_gray_withbias", "tiny_rgb_biasfree"));

}  // namespace
}  // namespace frerec::restoration
