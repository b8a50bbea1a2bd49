// Restormer / FreRec DAE networks: parameter counts and names against the official
// implementation (shared/REFERENCE.md "Restormer"), shapes, polar pooling, loss, cost model.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <cmath>

#include "framework/core/error.h"
#include "framework/core/registry.h"
#include "framework/io/state_dict.h"
#include "models/restoration/fesa.h"
#include "models/restoration/registry.h"
#include "models/restoration/restormer.h"

namespace frerec::restoration {
namespace {
using io::named_state;

class RestorationNetworks : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(2); }
};

RestormerOptions tiny(bool fesa, int channels = 1) {
  RestormerOptions o;
  o.in_channels = o.out_channels = channels;
  o.dim = 8;
  o.num_blocks = {1, 1, 1, 1};
  o.num_refinement_blocks = 1;
  o.heads = {1, 2, 2, 4};
  o.fesa = fesa;
  o.ring_width = 2;
  o.angular_bins = 8;
  return o;
}

TEST_F(RestorationNetworks, OfficialParameterCounts) {
  EXPECT_EQ(count_parameters(Restormer(official_restormer_options())), 26126644);
  auto bias_free = official_restormer_options();
  bias_free.layernorm = "BiasFree";
  EXPECT_EQ(count_parameters(Restormer(bias_free)), 26111668);
}

TEST_F(RestorationNetworks, FrerecDaeCountIsRestormerPlusFesa) {
  const auto paper = paper_dae_options();
  auto plain = paper;
  plain.fesa = false;
  // FESA per block: gate and refine 3x3 1->1 with bias (2*10), the 1x1 C->C of Eq. 5 (no bias),
  // fuse 1x1 2C->C + BN(C).
  auto extra = [](int64_t c) { return 20 + c * c + 2 * c * c + 2 * c; };
  const int64_t d = paper.dim;
  const int64_t expected_extra = 2 * extra(d) + 4 * extra(2 * d) + 6 * extra(4 * d) + 8 * extra(8 * d) +
                                 6 * extra(4 * d) + 4 * extra(2 * d) + 2 * extra(2 * d) + 2 * extra(2 * d);
  const int64_t plain_count = count_parameters(Restormer(plain));
  EXPECT_EQ(count_parameters(Restormer(paper)), plain_count + expected_extra);
  EXPECT_EQ(count_parameters(Restormer(paper)), 30346690);  // the frerec_dae default (reported in the bench README)
  EXPECT_EQ(count_parameters(Restormer(cpu_dae_options())), 1276927);
}

TEST_F(RestorationNetworks, OfficialStateDictNamesAndShapes) {
  const auto state = named_state(*Restormer(official_restormer_options()));
  // 1 patch embed + 44 blocks x 11 tensors + 3 down + 3 up + 2 reductions + output, no biases.
  EXPECT_EQ(state.size(), 494u);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> official = {
      {"patch_embed.proj.weight", {48, 3, 3, 3}},
      {"encoder_level1.0.norm1.body.weight", {48}},
      {"encoder_level1.0.norm1.body.bias", {48}},
      {"encoder_level1.0.attn.temperature", {1, 1, 1}},
      {"encoder_level1.0.attn.qkv.weight", {144, 48, 1, 1}},
      {"encoder_level1.0.attn.qkv_dwconv.weight", {144, 1, 3, 3}},
      {"encoder_level1.0.attn.project_out.weight", {48, 48, 1, 1}},
      {"encoder_level1.3.norm2.body.weight", {48}},
      {"encoder_level1.0.ffn.project_in.weight", {254, 48, 1, 1}},
      {"encoder_level1.0.ffn.dwconv.weight", {254, 1, 3, 3}},
      {"encoder_level1.0.ffn.project_out.weight", {48, 127, 1, 1}},
      {"down1_2.body.0.weight", {24, 48, 3, 3}},
      {"encoder_level2.5.ffn.project_in.weight", {510, 96, 1, 1}},
      {"down2_3.body.0.weight", {48, 96, 3, 3}},
      {"encoder_level3.0.attn.temperature", {4, 1, 1}},
      {"down3_4.body.0.weight", {96, 192, 3, 3}},
      {"latent.7.attn.temperature", {8, 1, 1}},
      {"latent.0.ffn.project_out.weight", {384, 1021, 1, 1}},
      {"up4_3.body.0.weight", {768, 384, 3, 3}},
      {"reduce_chan_level3.weight", {192, 384, 1, 1}},
      {"decoder_level3.5.attn.qkv.weight", {576, 192, 1, 1}},
      {"up3_2.body.0.weight", {384, 192, 3, 3}},
      {"reduce_chan_level2.weight", {96, 192, 1, 1}},
      {"decoder_level2.0.norm1.body.bias", {96}},
      {"up2_1.body.0.weight", {192, 96, 3, 3}},
      {"decoder_level1.3.ffn.project_in.weight", {510, 96, 1, 1}},
      {"decoder_level1.0.attn.temperature", {1, 1, 1}},
      {"refinement.3.norm2.body.bias", {96}},
      {"output.weight", {3, 96, 3, 3}},
  };
  for (const auto& [name, shape] : official) {
    auto it = state.find(name);
    ASSERT_NE(it, state.end()) << name;
    EXPECT_EQ(it->second.sizes().vec(), shape) << name;
  }
  EXPECT_EQ(state.count("reduce_chan_level1.weight"), 0u);  // level 1 concatenates without reduction
  EXPECT_EQ(state.count("output.bias"), 0u);
}

TEST_F(RestorationNetworks, FetBlocksKeepOfficialNamesAndAddFesa) {
  const auto state = named_state(*Restormer(paper_dae_options()));
  for (const char* name : {"encoder_level1.1.attn.qkv.weight", "encoder_level1.1.freq.gate.weight",
                           "encoder_level1.1.freq.refine.bias", "encoder_level1.1.freq.project.weight",
                           "latent.7.fuse.0.weight", "latent.7.fuse.1.running_var", "refinement.1.ffn.dwconv.weight"})
    EXPECT_EQ(state.count(name), 1u) << name;
}

TEST_F(RestorationNetworks, ForwardRequiresMultipleOfEightAndMatchingChannels) {
  Restormer net(tiny(true));
  initialize_parameters(*net, 3);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(at::rand({2, 1, 24, 40})).sizes().vec(), (std::vector<int64_t>{2, 1, 24, 40}));
  EXPECT_THROW(net->forward(at::rand({1, 1, 17, 16})), RunError);
  EXPECT_THROW(net->forward(at::rand({1, 3, 16, 16})), RunError);
}

TEST_F(RestorationNetworks, InitialisationIsSeededAndLocal) {
  Restormer a(tiny(true)), b(tiny(true)), c(tiny(true));
  initialize_parameters(*a, 7);
  initialize_parameters(*b, 7);
  initialize_parameters(*c, 8);
  const auto sa = named_state(*a), sb = named_state(*b), sc = named_state(*c);
  EXPECT_TRUE(sa.at("patch_embed.proj.weight").equal(sb.at("patch_embed.proj.weight")));
  EXPECT_FALSE(sa.at("patch_embed.proj.weight").equal(sc.at("patch_embed.proj.weight")));
}

TEST_F(RestorationNetworks, LayerNormMatchesFormula) {
  LayerNorm2d with_bias(3, "WithBias"), bias_free(3, "BiasFree");
  auto x = at::tensor({1.0f, 2.0f, 6.0f}).view({1, 3, 1, 1});
  const double mean = 3.0, var = (4.0 + 1.0 + 9.0) / 3.0;  // population variance
  auto y = with_bias->forward(x);
  auto z = bias_free->forward(x);
  for (int c = 0; c < 3; ++c) {
    const double v = x[0][c][0][0].item<double>();
    EXPECT_NEAR(y[0][c][0][0].item<double>(), (v - mean) / std::sqrt(var + 1e-5), 1e-5);
    EXPECT_NEAR(z[0][c][0][0].item<double>(), v / std::sqrt(var + 1e-5), 1e-5);
  }
}

TEST_F(RestorationNetworks, PolarPoolUnpoolRoundTripOnConstantRings) {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{16, 16}, {15, 21}, {7, 7}}) {
    const auto grid = polar_grid(h, w, 2, 32, torch::kCPU);
    EXPECT_EQ(grid.rings, ((std::max(h, w) + 1) / 2 + 1) / 2);
    // A spectrum whose value depends only on the ring (= a function of the radius band).
    auto spectrum = at::empty({2, h, w});
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const double r = std::hypot(double(y - h / 2), double(x - w / 2));
        const int64_t ring = std::min<int64_t>(grid.rings - 1, static_cast<int64_t>(r / 2));
        spectrum[0][y][x] = 1.0 + 0.5 * ring;
        spectrum[1][y][x] = std::cos(double(ring));
      }
    auto cells = polar_pool(spectrum, grid);
    EXPECT_EQ(cells.sizes().vec(), (std::vector<int64_t>{2, 32, grid.rings}));
    EXPECT_TRUE(at::allclose(polar_unpool(cells, grid), spectrum, 1e-6, 1e-6)) << h << "x" << w;
  }
}

TEST_F(RestorationNetworks, PolarPoolIsCellMeanAndDifferentiable) {
  const int64_t h = 12, w = 9;
  const auto grid = polar_grid(h, w, 3, 4, torch::kCPU);
  auto x = at::rand({1, h, w}).set_requires_grad(true);
  auto cells = polar_pool(x, grid);
  // Brute force mean of the cell of pixel (0, 0).
  const int64_t id = grid.cell_of_pixel[0].item<int64_t>();
  double sum = 0;
  int count = 0;
  for (int64_t i = 0; i < h * w; ++i)
    if (grid.cell_of_pixel[i].item<int64_t>() == id) sum += x.view({-1})[i].item<double>(), ++count;
  EXPECT_NEAR(cells.view({-1})[id].item<double>(), sum / count, 1e-6);
  // Σ unpool(pool(x)) = Σ x, so its gradient is 1 everywhere.
  polar_unpool(cells, grid).sum().backward();
  EXPECT_TRUE(at::allclose(x.grad(), at::ones_like(x), 1e-5, 1e-5));
  EXPECT_THROW(polar_grid(8, 8, 0, 4, torch::kCPU), ConfigError);
  EXPECT_THROW(polar_grid(8, 8, 2, 0, torch::kCPU), ConfigError);
}

TEST_F(RestorationNetworks, FrequencyBranchHandlesOddSizesWithFiniteGradients) {
  FrequencyBranch branch(6, 2, 32, false);
  initialize_parameters(*branch, 1);
  auto x = at::randn({2, 6, 7, 9}).set_requires_grad(true);
  auto y = branch->forward(x);
  EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{2, 6, 7, 9}));
  y.pow(2).sum().backward();
  EXPECT_TRUE(at::isfinite(x.grad()).all().item<bool>());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  // A zero feature (zero spectrum) must not give NaN gradients either.
  auto zero = at::zeros({1, 6, 8, 8}).set_requires_grad(true);
  branch->forward(zero).sum().backward();
  EXPECT_TRUE(at::isfinite(zero.grad()).all().item<bool>());
}

TEST_F(RestorationNetworks, CostModelMatchesPublishedRestormerFlops) {
  const auto cost = forward_cost(official_restormer_options(), 256, 256);
  EXPECT_NEAR(cost.conv_macs / 1e9, 141.0, 3.0);
  EXPECT_NEAR(cost.attention_macs / 1e9, 14.0, 1.0);
  EXPECT_EQ(cost.fft_flops, 0.0);
  EXPECT_GT(forward_cost(paper_dae_options(), 256, 256).fft_flops, 0.0);
}

TEST_F(RestorationNetworks, OptionsValidationNamesTheKey) {
  auto o = tiny(true);
  o.heads = {3, 2, 2, 4};
  try {
    o.validate("frerec_dae");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("heads"), std::string::npos);
  }
  o = tiny(true);
  o.layernorm = "Other";
  EXPECT_THROW(o.validate("x"), ConfigError);
  o = tiny(true);
  o.out_channels = 3;
  EXPECT_THROW(o.validate("x"), ConfigError);
  EXPECT_EQ(RestormerOptions::from_yaml(paper_dae_options().to_yaml()).to_yaml(), paper_dae_options().to_yaml());
}

TEST_F(RestorationNetworks, RegistryBuildsFromSchemaAndReportsParameters) {
  register_restoration();
  const auto* info = Catalog::instance().find("models", "restormer");
  ASSERT_NE(info, nullptr);
  const YAML::Node defaults = info->schema->validate(YAML::Node(), "model", config::Provenance());
  EXPECT_EQ(info->details(config::Params(defaults, "model")), "parameters: 26126644");
  YAML::Node small = YAML::Load("{dim: 8, num_blocks: [1,1,1,1], num_refinement_blocks: 1, heads: [1,2,2,4], in_channels: 1, out_channels: 1}");
  const auto* dae = Catalog::instance().find("models", "frerec_dae");
  ASSERT_NE(dae, nullptr);
  const YAML::Node validated = dae->schema->validate(small, "model", config::Provenance());
  Restormer net = restoration_model_registry().create("frerec_dae", config::Params(validated, "model"));
  EXPECT_TRUE(net->options().fesa);
  EXPECT_EQ(net->options().dim, 8);
  EXPECT_EQ(net->options().ring_width, 2);
  EXPECT_EQ(net->options().angular_bins, 32);
}

}  // namespace
}  // namespace frerec::restoration
