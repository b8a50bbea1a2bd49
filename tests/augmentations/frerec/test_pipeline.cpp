// The FreRec pipeline (augmentations/frerec/pipeline.h) on its own, without the CLI:
// settings and their errors, the SHR stage against shr::shr_with_retrieval, the cache
// round trip of calibrated images, and a tiny auto-encoder trained and applied by the rhm
// and full stages.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "augmentations/frerec/pipeline.h"
#include "augmentations/frerec/rhm.h"
#include "augmentations/frerec/shr.h"
#include "framework/cache/artifact_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/cache/image_store_h5.h"
#include "framework/spectral/retrieval.h"
#include "framework/spectral/spectrum.h"
#include "framework/config/schema.h"
#include "framework/core/error.h"

namespace frerec::pipeline {
namespace {
namespace fs = std::filesystem;

// Smooth random images with some high-frequency texture, like small medical images.
std::vector<Image> images(int n, std::uint64_t seed, int size = 16) {
  std::mt19937_64 rng(seed);
  std::vector<Image> out;
  for (int i = 0; i < n; ++i) {
    Image im(1, size, size);
    const double fx = 0.2 + 0.05 * static_cast<double>(rng() % 8), phase = static_cast<double>(rng() % 100) / 10.0;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        im.at(0, y, x) = static_cast<float>(0.5 + 0.3 * std::sin(fx * x + phase) * std::cos(0.3 * y) +
                                            0.05 * (static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5));
    out.push_back(std::move(im));
  }
  return out;
}

// Validated FreRec settings with a tiny, fast auto-encoder.
FreRecSettings settings(FreRecStage stage, const std::string& extra_yaml = "") {
  YAML::Node node = YAML::Load(
      "shr: {k: 3, ratio: 0.25}\n"
      "dae: {epochs: 2, batch_size: 2, patch_size: 16, steps_per_epoch: 3, lr: 0.001,\n"
      "      network: {dim: 8, num_blocks: [1, 1, 1, 1], num_refinement_blocks: 1, heads: [1, 1, 1, 1]}}\n"
      "dae_val_images: 2\n" +
      extra_yaml);
  const YAML::Node validated = frerec_schema(true).validate(node, "", config::Provenance());
  return frerec_settings_from(config::Params(validated, ""), stage);
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("frerec_pipeline_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cache_ = std::make_unique<ArtifactCache>(dir_ / "cache");
    run_.cache_dir = dir_ / "cache";
    run_.cache = cache_.get();
  }
  void TearDown() override {
    cache_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<ArtifactCache> cache_;
  RunContext run_;
};

double max_difference(const std::vector<Image>& a, const std::vector<Image>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[i].data.size(); ++j)
      worst = std::max(worst, static_cast<double>(std::fabs(a[i].data[j] - b[i].data[j])));
  return worst;
}

TEST(PipelineSettings, StagesRoundTripAndBadNamesAreConfigErrors) {
  for (const char* name : {"shr", "rhm", "full"}) EXPECT_STREQ(to_string(parse_stage(name)), name);
  EXPECT_THROW(parse_stage("SHR"), ConfigError);
}

TEST(PipelineSettings, ApplyToNamesOnlyTheFourSets) {
  // Every split a cell uses, as the paper recommends ("all training and testing samples").
  EXPECT_EQ(settings(FreRecStage::kFull).apply_to,
            (std::vector<std::string>{"synthetic", "real_train", "real_val", "real_test"}));
  try {
    settings(FreRecStage::kFull, "apply_to: [synthetic, validation]\n");
    FAIL() << "apply_to: validation was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("validation"), std::string::npos) << e.what();
  }
}

TEST(PipelineSettings, RandomnessPerCellShiftsTheSeedsAndFixedKeepsThem) {
  FreRecSettings per_cell = settings(FreRecStage::kFull);
  EXPECT_TRUE(per_cell.per_cell_randomness);  // the default
  per_cell.shr.seed = 5;
  per_cell.dae["seed"] = 7;
  const FreRecSettings cell3 = settings_for_cell(per_cell, 3);
  EXPECT_EQ(cell3.shr.seed, 8u);
  EXPECT_EQ(cell3.dae["seed"].as<std::uint64_t>(), 10u);
  EXPECT_EQ(per_cell.dae["seed"].as<std::uint64_t>(), 7u);  // the shared settings are not touched
  EXPECT_NE(cell3.shr.canonical(), settings_for_cell(per_cell, 4).shr.canonical());
  FreRecSettings fixed = settings(FreRecStage::kFull, "randomness: fixed\n");
  EXPECT_FALSE(fixed.per_cell_randomness);
  fixed.shr.seed = 5;
  EXPECT_EQ(settings_for_cell(fixed, 3).shr.seed, 5u);
  EXPECT_EQ(settings_for_cell(fixed, 3).dae["seed"].as<std::uint64_t>(), 0u);
  EXPECT_THROW(settings(FreRecStage::kFull, "randomness: sometimes\n"), ConfigError);
}

TEST(PipelineSettings, TheRegisteredVariantsChooseStageAndNetwork) {
  const YAML::Node defaults = frerec_schema(true).validate(YAML::Node(YAML::NodeType::Map), "", config::Provenance());
  const config::Params params(defaults, "");
  EXPECT_EQ(frerec_method_settings("gda_frerec", params)->stage, FreRecStage::kFull);
  EXPECT_EQ(frerec_method_settings("gda_shr", params)->stage, FreRecStage::kShr);
  EXPECT_EQ(frerec_method_settings("gda_rhm", params)->stage, FreRecStage::kRhm);
  EXPECT_EQ(frerec_method_settings("gda_rhm_restormer", params)->stage, FreRecStage::kRhm);
  EXPECT_FALSE(frerec_method_settings("gda", params).has_value());
  EXPECT_FALSE(frerec_method_settings("raw", params).has_value());
}

TEST(PipelineSettings, FingerprintSeesEveryPixelAndTheOrder) {
  auto a = images(3, 1);
  const std::string base = images_fingerprint(a);
  EXPECT_EQ(images_fingerprint(images(3, 1)), base);
  auto changed = a;
  changed[2].data[17] += 1e-6f;
  EXPECT_NE(images_fingerprint(changed), base);
  std::swap(a[0], a[1]);
  EXPECT_NE(images_fingerprint(a), base);
}

TEST_F(PipelineTest, ShrStageIsShrWithRetrievalAndComesBackFromTheCache) {
  const auto real = images(12, 2), synthetic = images(5, 3);
  const FreRecSettings s = settings(FreRecStage::kShr);
  const auto first = calibrate(synthetic, real, s, {}, false, 0, run_);
  const auto direct = shr::shr_with_retrieval(synthetic, real, s.shr, 1);
  ASSERT_EQ(first.size(), synthetic.size());
  EXPECT_EQ(max_difference(first, direct), 0.0);
  EXPECT_GT(max_difference(first, synthetic), 1e-4) << "SHR left the images unchanged";
  // A second call reads the calibrated artifact: the same bytes, and a new offset gives new ε.
  const auto again = calibrate(synthetic, real, s, {}, false, 0, run_);
  EXPECT_EQ(max_difference(again, first), 0.0);
  const auto shifted = calibrate(synthetic, real, s, {}, false, 7, run_);
  EXPECT_GT(max_difference(shifted, first), 0.0);
  EXPECT_TRUE(calibrate({}, real, s, {}, false, 0, run_).empty());
}

TEST_F(PipelineTest, LeaveOneOutNeverUsesTheImageAsItsOwnNeighbour) {
  const auto real = images(8, 4);
  const FreRecSettings s = settings(FreRecStage::kShr);
  const auto loo = calibrate(real, real, s, {}, true, 0, run_);
  const auto direct = shr::shr_with_retrieval(real, real, s.shr, 1, true);
  EXPECT_EQ(max_difference(loo, direct), 0.0);
  EXPECT_GT(max_difference(loo, calibrate(real, real, s, {}, false, 0, run_)), 0.0);
}

TEST_F(PipelineTest, TheTrainedAutoEncoderIsCachedAndTheStagesDiffer) {
  const auto real = images(10, 5), synthetic = images(4, 6);
  const FreRecSettings full = settings(FreRecStage::kFull);
  const fs::path checkpoint = trained_dae(real, full, run_);
  ASSERT_TRUE(fs::exists(checkpoint));
  EXPECT_EQ(rhm::dae_history(checkpoint).size(), 2u);
  EXPECT_EQ(trained_dae(real, full, run_), checkpoint) << "the second call retrained instead of reading the cache";

  const auto shr_only = calibrate(synthetic, real, settings(FreRecStage::kShr), {}, false, 0, run_);
  const auto rhm_only = calibrate(synthetic, real, settings(FreRecStage::kRhm), checkpoint, false, 0, run_);
  const auto both = calibrate(synthetic, real, full, checkpoint, false, 0, run_);
  // full = A(SHR(x)): the model applied to the SHR stage's output.
  const auto model = rhm::DaeModel::load(checkpoint);
  EXPECT_LT(max_difference(both, model.restore(shr_only, 8)), 1e-6);
  EXPECT_LT(max_difference(rhm_only, model.restore(synthetic, 8)), 1e-6);
  EXPECT_GT(max_difference(both, shr_only), 0.0);
  EXPECT_GT(max_difference(rhm_only, synthetic), 0.0);
  EXPECT_THROW(trained_dae({real.front()}, full, run_), RunError);
}

// A store that reads in chunks of 3 images: streaming code must give the same numbers across
// chunk boundaries as on whole vectors.
class SmallChunks final : public ImageStore {
 public:
  explicit SmallChunks(const ImageStore& inner) : inner_(inner) {}
  std::size_t size() const override { return inner_.size(); }
  int channels() const override { return inner_.channels(); }
  int height() const override { return inner_.height(); }
  int width() const override { return inner_.width(); }
  std::vector<Image> read_range(std::size_t b, std::size_t e) const override { return inner_.read_range(b, e); }
  std::vector<Image> read_rows(const std::vector<std::size_t>& rows) const override { return inner_.read_rows(rows); }
  std::size_t chunk_images(std::size_t) const override { return 3; }

 private:
  const ImageStore& inner_;
};

TEST_F(PipelineTest, H5StoreRoundTripsBitExactly) {
  const auto set = images(7, 11, 12);
  {
    H5ImageWriter writer(dir_ / "set.h5", 1, 12, 12);
    writer.append({set.begin(), set.begin() + 4});
    writer.append({set.begin() + 4, set.end()});
    EXPECT_THROW(writer.append({Image(1, 8, 8)}), InternalError);
  }
  const H5ImageStore store(dir_ / "set.h5");
  ASSERT_EQ(store.size(), 7u);
  EXPECT_EQ(max_difference(store.read_range(0, 7), set), 0.0);
  const auto rows = store.read_rows({5, 0, 5});
  EXPECT_EQ(rows[0].data, set[5].data);
  EXPECT_EQ(rows[1].data, set[0].data);
  EXPECT_EQ(images_fingerprint(store), images_fingerprint(set));
  EXPECT_EQ(images_fingerprint(SmallChunks(store)), images_fingerprint(set));
  EXPECT_THROW(store.read_range(3, 8), InternalError);
  EXPECT_THROW(H5ImageStore(dir_ / "missing.h5"), RunError);
}

TEST_F(PipelineTest, StreamedStagesEqualTheWholeSetForms) {
  const auto real = images(11, 12), synthetic = images(7, 13);
  const VectorImageStore real_store(real), synthetic_store(synthetic);
  const SmallChunks real_chunks(real_store), synthetic_chunks(synthetic_store);
  const FreRecSettings s = settings(FreRecStage::kShr);
  // Statistics, SHR and the spectral profile across chunk boundaries.
  const auto stats = shr::high_frequency_stats(real, s.shr, 2);
  const auto streamed_stats = shr::high_frequency_stats(real_chunks, s.shr, 2);
  ASSERT_EQ(streamed_stats.size(), stats.size());
  for (std::size_t i = 0; i < stats.size(); ++i) EXPECT_EQ(streamed_stats[i][0].spread, stats[i][0].spread);
  const auto neighbours = spectral::top_k_ssim(synthetic, real, shr::retrieval_options(s.shr, 2, false));
  const auto streamed_neighbours = spectral::top_k_ssim(synthetic_chunks, real_chunks, shr::retrieval_options(s.shr, 2, false));
  EXPECT_EQ(streamed_neighbours.indices, neighbours.indices);
  EXPECT_EQ(streamed_neighbours.scores, neighbours.scores);
  std::vector<Image> streamed(synthetic.size());
  std::vector<std::size_t> firsts;
  shr::shr_stream(synthetic_chunks, real_chunks, stats, neighbours, s.shr, 2, 5, [&](std::size_t first, std::vector<Image>&& chunk) {
    firsts.push_back(first);
    for (std::size_t i = 0; i < chunk.size(); ++i) streamed[first + i] = std::move(chunk[i]);
  });
  EXPECT_EQ(firsts, (std::vector<std::size_t>{0, 3, 6}));
  EXPECT_EQ(max_difference(streamed, shr::shr_batch(synthetic, real, neighbours, s.shr, 1, 5)), 0.0);
  EXPECT_EQ(spectral::mean_azimuthal_profile(real_chunks, 2), spectral::mean_azimuthal_profile(real, 1));
  // The pipeline on stores: the same artifacts (keys) and images as on vectors.
  const fs::path path = calibrate_to_store(synthetic_chunks, real_chunks, s, {}, false, 0, run_);
  EXPECT_EQ(max_difference(H5ImageStore(path).read_range(0, synthetic.size()), calibrate(synthetic, real, s, {}, false, 0, run_)), 0.0);
  const FreRecSettings full = settings(FreRecStage::kFull);
  const fs::path checkpoint = trained_dae(real_chunks, full, run_);
  EXPECT_EQ(trained_dae(real, full, run_), checkpoint) << "the store and vector forms keyed the auto-encoder differently";
  const fs::path calibrated = calibrate_to_store(synthetic_chunks, real_chunks, full, checkpoint, false, 0, run_);
  const auto model = rhm::DaeModel::load(checkpoint);
  EXPECT_LT(max_difference(H5ImageStore(calibrated).read_range(0, synthetic.size()),
                           model.restore(calibrate(synthetic, real, s, {}, false, 0, run_), 8)),
            1e-6);
}

TEST_F(PipelineTest, DaeTrainImagesTrainsOnTheFirstImagesOnly) {
  const auto real = images(12, 16);
  const FreRecSettings all = settings(FreRecStage::kFull);
  const FreRecSettings first6 = settings(FreRecStage::kFull, "dae_train_images: 6\n");
  EXPECT_EQ(first6.dae_train_images, 6);
  const fs::path a = trained_dae(real, all, run_), b = trained_dae(real, first6, run_);
  EXPECT_NE(a, b) << "a subset-trained auto-encoder shared the cache entry of the full one";
  // Its leave-one-out retrieval has 6 queries (the subset) against all 12 references.
  std::vector<hsize_t> rows;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "cache")) {
    if (entry.path().extension() != ".h5" || entry.path().parent_path().filename() != "retrieval") continue;
    h5::File file(entry.path(), "r");
    std::vector<hsize_t> dims;
    h5::read_array<std::int32_t>(file, "indices", &dims);
    rows.push_back(dims.at(0));
  }
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<hsize_t>{6, 12}));
  // At least the real set: a larger N is all of them (the same network as the default).
  EXPECT_EQ(trained_dae(real, settings(FreRecStage::kFull, "dae_train_images: 50\n"), run_), a);
  EXPECT_THROW(settings(FreRecStage::kFull, "dae_train_images: 1\n"), ConfigError);
  EXPECT_THROW(settings(FreRecStage::kFull, "dae_train_images: 0\n"), ConfigError);
}

// dae.train_epsilon_scale widens SHR's ε for the training inputs only: another network (and
// cache entry), trained on other inputs, validated on the very inputs inference would give it.
TEST_F(PipelineTest, TrainEpsilonScaleChangesTrainingInputsOnly) {
  const auto real = images(10, 21);
  const FreRecSettings plain = settings(FreRecStage::kFull);
  FreRecSettings wide = settings(FreRecStage::kFull);
  wide.dae["train_epsilon_scale"] = 3.0;
  const fs::path a = trained_dae(real, plain, run_), b = trained_dae(real, wide, run_);
  EXPECT_NE(a, b) << "the wider training shared the cache entry of the plain one";
  const auto ha = rhm::dae_history(a), hb = rhm::dae_history(b);
  ASSERT_EQ(ha.size(), hb.size());
  for (std::size_t e = 0; e < ha.size(); ++e) {
    EXPECT_EQ(ha[e].input_psnr, hb[e].input_psnr) << "epoch " << e + 1 << ": validation inputs differ";
    EXPECT_NE(ha[e].train_loss, hb[e].train_loss) << "epoch " << e + 1 << ": training inputs did not change";
  }
  FreRecSettings negative = settings(FreRecStage::kFull);
  negative.dae["train_epsilon_scale"] = -1.0;
  EXPECT_THROW(trained_dae(real, negative, run_), ConfigError);
  EXPECT_THROW(rhm::dae_schema().validate(YAML::Load("{train_epsilon_scale: -1}"), "dae", config::Provenance()),
               ConfigError);
}

TEST_F(PipelineTest, StreamedAutoEncoderTrainingEqualsTheInMemoryOne) {
  // The same pairs given as vectors or as rows of a store train bit-identical networks.
  const auto real = images(9, 14);
  const FreRecSettings full = settings(FreRecStage::kFull);
  rhm::DaeTrainOptions options = rhm::dae_options_from(config::Params(
      [&] {
        YAML::Node dae = YAML::Clone(full.dae);
        dae["network"]["in_channels"] = 1;
        if (dae["network"]["out_channels"]) dae["network"]["out_channels"] = 1;
        return dae;
      }(),
      "dae"));
  auto perturb = [](std::size_t index, const Image& target, std::uint64_t seed) {
    Image out = target;
    for (float& v : out.data) v = std::min(1.0f, v + 0.01f * static_cast<float>((index + seed) % 5));
    return out;
  };
  rhm::DaePairs vectors_train, vectors_val, store_train, store_val;
  vectors_train.targets.assign(real.begin(), real.begin() + 7);
  vectors_val.targets.assign(real.begin() + 7, real.end());
  vectors_train.perturb = vectors_val.perturb = store_train.perturb = store_val.perturb = perturb;
  const auto store = std::make_shared<VectorImageStore>(real);
  store_train.store = store_val.store = store;
  store_train.store_count = 7;
  store_val.store_begin = 7;
  store_val.store_count = 2;
  options.checkpoint_dir = dir_ / "a";
  const auto a = rhm::train_dae(options, vectors_train, vectors_val, run_);
  options.checkpoint_dir = dir_ / "b";
  const auto b = rhm::train_dae(options, store_train, store_val, run_);
  ASSERT_EQ(a.history.size(), b.history.size());
  EXPECT_EQ(a.history.back().train_loss, b.history.back().train_loss);
  EXPECT_EQ(a.history.back().val_psnr, b.history.back().val_psnr);
  const auto probe = images(2, 15);
  EXPECT_EQ(max_difference(rhm::DaeModel::load(a.last_checkpoint).restore(probe, 2),
                           rhm::DaeModel::load(b.last_checkpoint).restore(probe, 2)),
            0.0);
}

}  // namespace
}  // namespace frerec::pipeline
