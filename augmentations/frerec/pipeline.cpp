#include "augmentations/frerec/pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>
#include <optional>

#include "augmentations/core/gda.h"
#include "augmentations/method.h"
#include "augmentations/sources.h"
#include "augmentations/frerec/retrieval_cache.h"
#include "framework/cache/artifact_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/cache/image_store_h5.h"
#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/metrics/metrics.h"
#include "framework/spectral/spectrum.h"
#include "framework/spectral/ssim.h"
#include "framework/spectral/validate.h"
#include "augmentations/frerec/rhm.h"

namespace frerec::pipeline {
namespace fs = std::filesystem;

FreRecStage parse_stage(const std::string& name) {
  if (name == "shr") return FreRecStage::kShr;
  if (name == "rhm") return FreRecStage::kRhm;
  if (name == "full") return FreRecStage::kFull;
  throw ConfigError("frerec: stage '" + name + "' must be shr, rhm or full");
}

const char* to_string(FreRecStage stage) {
  switch (stage) {
    case FreRecStage::kShr: return "shr";
    case FreRecStage::kRhm: return "rhm";
    case FreRecStage::kFull: return "full";
  }
  return "?";
}

config::Schema frerec_schema(bool fesa) {
  config::Schema dae = rhm::dae_schema();
  const config::Field* network = dae.find("network");
  FREREC_ASSERT(network && network->sub, "dae_schema has a network map");
  config::Schema net = *network->sub;
  net.add_bool("fesa", fesa, "FET blocks with FESA (true) or plain Restormer blocks (false, ablation)");
  dae.add_map("network", net, network->doc);
  config::Schema schema;
  schema.add_map("shr", shr::ShrOptions::schema(), "Statistical High-frequency Replacement (paper Eq. 1-3)");
  schema.add_map("dae", dae, "the RHM denoising auto-encoder and its training (paper Eq. 4-7)");
  schema.add_string_list("apply_to", {"synthetic", "real_train", "real_val", "real_test"},
                         "sets to calibrate: synthetic, real_train, real_val, real_test (the paper: \"all training "
                         "and testing samples, synthetic and real\")");
  schema.add_int("dae_val_images", 32, "real training images held out from DAE training to validate it", 1);
  schema.add_int("dae_train_images", -1,
                 "the auto-encoder trains and validates on the first N real training images only (-1: all); SHR's "
                 "neighbours still come from every real image. Its leave-one-out retrieval costs N x (all real) SSIM "
                 "pairs: at DR scale (27,000 real) on a few CPU cores, a few thousand keeps it to hours",
                 -1);
  schema.add_string("randomness", "per_cell",
                    "FreRec's own randomness (SHR's ε draws, the auto-encoder's initialisation and sampling): "
                    "per_cell adds the cell's seed to shr.seed and dae.seed, so seeds vary it; fixed keeps them",
                    {"per_cell", "fixed"});
  schema.add_int("synthetic_per_class", -1, "synthetic images per class in training (-1 = the whole Table 1 pool)", -1);
  return schema;
}

FreRecSettings frerec_settings_from(const config::Params& params, FreRecStage stage) {
  FreRecSettings settings;
  settings.stage = stage;
  settings.shr = shr::ShrOptions::from_params(params.sub("shr"));
  settings.dae = YAML::Clone(params.sub("dae").node());
  settings.apply_to = params.get<std::vector<std::string>>("apply_to");
  for (const auto& set : settings.apply_to)
    if (set != "synthetic" && set != "real_train" && set != "real_val" && set != "real_test")
      throw ConfigError(fmt::format("{}: '{}' is not a set (synthetic, real_train, real_val, real_test)",
                                    params.full_key("apply_to"), set));
  settings.dae_val_images = params.get<int>("dae_val_images");
  settings.dae_train_images = static_cast<int>(params.get_or<long>("dae_train_images", -1));
  if (settings.dae_train_images == 0 || settings.dae_train_images == 1)
    throw ConfigError(fmt::format("{}: {} must be -1 (all) or at least 2", params.full_key("dae_train_images"),
                                  settings.dae_train_images));
  settings.per_cell_randomness = params.get_or<std::string>("randomness", "per_cell") == "per_cell";
  return settings;
}

namespace {
std::uint64_t dae_seed(const YAML::Node& dae) { return dae["seed"] ? dae["seed"].as<std::uint64_t>() : 0; }
}  // namespace

FreRecSettings settings_for_cell(const FreRecSettings& settings, std::uint64_t cell_seed) {
  FreRecSettings out = settings;
  if (!settings.per_cell_randomness) return out;
  out.shr.seed = settings.shr.seed + cell_seed;
  // reset(), not operator=: assigning to a YAML::Node writes through to the node it shares
  // with `settings`.
  out.dae.reset(YAML::Clone(settings.dae));
  out.dae["seed"] = dae_seed(settings.dae) + cell_seed;
  return out;
}

std::string images_fingerprint(const std::vector<Image>& images) {
  ImageDigest digest;
  for (const auto& image : images) digest.add(image);
  return digest.digest();
}

std::string images_fingerprint(const ImageStore& images) { return images.content_digest(); }

namespace {

ArtifactCache& cache_of(const RunContext& run, std::unique_ptr<ArtifactCache>& own) {
  if (run.cache) return *run.cache;
  own = std::make_unique<ArtifactCache>(run.cache_dir);
  return *own;
}

// SHR of `images` chunk by chunk (cached retrieval, neighbour statistics computed once),
// each chunk handed to `sink` in order.
void shr_chunks(const ImageStore& images, const ImageStore& real, const shr::ShrOptions& options, bool leave_one_out,
                std::uint64_t index_offset, const RunContext& run, const shr::ImageSink& sink) {
  const auto neighbours =
      cached_retrieval(images, real, shr::retrieval_options(options, run.threads, leave_one_out), run);
  const auto stats = shr::high_frequency_stats(real, options, run.threads);
  shr::shr_stream(images, real, stats, neighbours, options, run.threads, index_offset, sink);
}

// A shared_ptr that does not own (the store outlives the training that reads it).
std::shared_ptr<const ImageStore> borrowed(const ImageStore& store) {
  return std::shared_ptr<const ImageStore>(&store, [](const ImageStore*) {});
}

rhm::DaeTrainOptions dae_options(const FreRecSettings& settings, int channels) {
  YAML::Node dae = YAML::Clone(settings.dae);
  dae["network"]["in_channels"] = channels;
  if (dae["network"]["out_channels"]) dae["network"]["out_channels"] = channels;
  return rhm::dae_options_from(config::Params(dae, "dae"));
}

}  // namespace

fs::path trained_dae(const std::vector<Image>& real, const FreRecSettings& settings, const RunContext& run) {
  if (real.size() < 2) throw RunError("frerec: the DAE needs at least 2 real training images");
  spectral::require_uniform_set(real, "frerec", "real training");
  return trained_dae(VectorImageStore(real), settings, run);
}

namespace {
// The first `count` images of a store.
class PrefixStore final : public ImageStore {
 public:
  PrefixStore(const ImageStore& inner, std::size_t count) : inner_(inner), count_(count) {}
  std::size_t size() const override { return count_; }
  int channels() const override { return inner_.channels(); }
  int height() const override { return inner_.height(); }
  int width() const override { return inner_.width(); }
  std::vector<Image> read_range(std::size_t b, std::size_t e) const override { return inner_.read_range(b, e); }
  std::vector<Image> read_rows(const std::vector<std::size_t>& rows) const override { return inner_.read_rows(rows); }

 private:
  const ImageStore& inner_;
  std::size_t count_;
};
}  // namespace

fs::path trained_dae(const ImageStore& real, const FreRecSettings& settings, const RunContext& run) {
  if (real.size() < 2) throw RunError("frerec: the DAE needs at least 2 real training images");
  const int channels = real.channels();
  rhm::DaeTrainOptions options = dae_options(settings, channels);
  // The auto-encoder's images: the first `used` real images (dae_train_images), all by default.
  const std::size_t used = settings.dae_train_images > 0
                               ? std::min(real.size(), static_cast<std::size_t>(settings.dae_train_images))
                               : real.size();
  const int held_out = std::min<int>(settings.dae_val_images, static_cast<int>(used) / 5 + 1);
  ArtifactKey key{"dae", images_fingerprint(real),
                  fmt::format("shr={};dae={};val={}{}", settings.shr.canonical(), options.canonical(), held_out,
                              used < real.size() ? fmt::format(";train_images={}", used) : std::string()),
                  "2"};  // 2: FESA with live gradients and per-channel spectra (networks of "1" are not reused)
  std::unique_ptr<ArtifactCache> own;
  ArtifactCache& cache = cache_of(run, own);
  const std::string digest = key.digest();
  const fs::path work = cache.dir() / "dae" / (digest + ".work");
  const fs::path artifact = cache.get_or_build(key, [&](const fs::path& tmp) {
    // Real images: SHR(x) with leave-one-out retrieval as input, x as target; the last
    // `held_out` images validate. Fresh ε per epoch through the perturb function.
    const std::size_t n_train = used - static_cast<std::size_t>(held_out);
    spdlog::info("frerec: training the RHM auto-encoder on {} real images ({} held out), {} epochs", n_train, held_out,
                 options.epochs);
    const shr::ShrOptions shr_options = settings.shr;
    const auto neighbours =
        cached_retrieval(PrefixStore(real, used), real, shr::retrieval_options(shr_options, run.threads, true), run);
    const auto stats = std::make_shared<std::vector<shr::ImageStats>>(
        shr::high_frequency_stats(real, shr_options, run.threads));
    // dae.train_epsilon_scale widens (or narrows) ε for the training inputs only; validation
    // measures restoration of the SHR that inference applies.
    auto perturb_of = [stats, neighbours, shr_options](std::size_t offset, double epsilon_factor) {
      return [stats, neighbours, shr_options, offset, epsilon_factor](std::size_t index, const Image& target,
                                                                      std::uint64_t seed) {
        std::vector<const shr::ImageStats*> picked;
        const std::size_t i = index + offset;
        for (int r = 0; r < neighbours.k; ++r) picked.push_back(&(*stats)[static_cast<std::size_t>(neighbours.index(static_cast<int>(i), r))]);
        shr::ShrOptions o = shr_options;
        o.seed = seed;
        o.epsilon_scale *= epsilon_factor;
        return shr::apply_shr(target, picked, o, i);
      };
    };
    rhm::DaePairs train, validation;
    train.store = validation.store = borrowed(real);
    train.store_begin = 0;
    train.store_count = n_train;
    train.perturb = perturb_of(0, options.train_epsilon_scale);
    validation.store_begin = n_train;
    validation.store_count = used - n_train;
    validation.perturb = perturb_of(n_train, 1.0);
    options.checkpoint_dir = work;
    std::unique_ptr<Progress> bar;
    const auto result = rhm::train_dae(options, train, validation, run, [&](const rhm::DaeProgress& p) {
      if (!bar) bar = std::make_unique<Progress>("dae", static_cast<std::size_t>(p.total_steps), run.interactive);
      bar->set(static_cast<std::size_t>(p.step), fmt::format("epoch {}/{} loss {:.5f}", p.epoch, p.epochs, p.loss));
      if (p.epoch_end && !run.interactive)
        spdlog::info("dae epoch {}: train loss {:.5f}, val PSNR {:.2f} dB (input {:.2f} dB), SSIM {:.4f}",
                     p.epoch_end->epoch, p.epoch_end->train_loss, p.epoch_end->val_psnr, p.epoch_end->input_psnr,
                     p.epoch_end->val_ssim);
    });
    if (bar) bar->finish();
    const std::string bytes = read_file(result.last_checkpoint);
    h5::File file(tmp, "w");
    h5::write_array<std::uint8_t>(file, "checkpoint", std::vector<std::uint8_t>(bytes.begin(), bytes.end()),
                                  {bytes.size()});
    nlohmann::json history = nlohmann::json::array();
    for (const auto& e : result.history)
      history.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"val_psnr", e.val_psnr},
                         {"val_ssim", e.val_ssim}, {"input_psnr", e.input_psnr}, {"seconds", e.seconds}});
    h5::write_attribute(file, "history", history.dump());
    h5::write_attribute(file, "checkpoint_sha256", sha256_hex(bytes));
  });
  // The checkpoint as a local file next to the artifact (re-extracted when it differs).
  const fs::path checkpoint = cache.dir() / "dae" / (digest + ".pt");
  h5::File file(artifact, "r");
  const std::string expected = h5::read_attribute(file, "checkpoint_sha256");
  if (!fs::exists(checkpoint) || sha256_file(checkpoint.string()) != expected) {
    const auto bytes = h5::read_array<std::uint8_t>(file, "checkpoint");
    write_file_atomic(checkpoint, std::string(bytes.begin(), bytes.end()));
  }
  std::error_code ec;
  fs::remove_all(work, ec);  // the artifact holds the result; the work folder was only for resuming
  return checkpoint;
}

fs::path calibrate_to_store(const ImageStore& images, const ImageStore& real, const FreRecSettings& settings,
                            const fs::path& checkpoint, bool leave_one_out, std::uint64_t index_offset,
                            const RunContext& run) {
  const std::string checkpoint_sha =
      settings.stage == FreRecStage::kShr ? "none" : rhm::checkpoint_fingerprint(checkpoint);
  ArtifactKey key{"calibrated", images_fingerprint(images) + ";" + images_fingerprint(real),
                  fmt::format("stage={};shr={};dae={};loo={};offset={}", to_string(settings.stage),
                              settings.shr.canonical(), checkpoint_sha, leave_one_out, index_offset),
                  "1"};
  std::unique_ptr<ArtifactCache> own;
  ArtifactCache& cache = cache_of(run, own);
  return cache.get_or_build(key, [&](const fs::path& tmp) {
    std::optional<rhm::DaeModel> model;
    if (settings.stage != FreRecStage::kShr) {
      model.emplace(rhm::DaeModel::load(checkpoint, run.device));
      if (model->channels() != images.channels())
        throw RunError(fmt::format("frerec: the auto-encoder '{}' takes {} channels but the images have {}",
                                   checkpoint.string(), model->channels(), images.channels()));
    }
    H5ImageWriter writer(tmp, images.channels(), images.height(), images.width());
    std::optional<Progress> bar;  // sets of the demo's size calibrate in seconds
    if (images.size() >= 512) bar.emplace("calibrate", images.size(), run.interactive);
    // Each chunk: SHR (unless rhm), then the auto-encoder (unless shr), then appended.
    auto finish_chunk = [&](std::size_t first, std::vector<Image>&& chunk) {
      if (model) chunk = model->restore(chunk, 8);
      writer.append(chunk);
      if (bar) bar->set(first + chunk.size());
    };
    if (settings.stage != FreRecStage::kRhm)
      shr_chunks(images, real, settings.shr, leave_one_out, index_offset, run, finish_chunk);
    else
      for_each_chunk(images, images.chunk_images(), [&](std::size_t first, const std::vector<Image>& chunk) {
        finish_chunk(first, std::vector<Image>(chunk));
      });
    writer.close();
    if (bar) bar->finish();
  });
}

std::vector<Image> calibrate(const std::vector<Image>& images, const std::vector<Image>& real,
                             const FreRecSettings& settings, const fs::path& checkpoint, bool leave_one_out,
                             std::uint64_t index_offset, const RunContext& run) {
  if (images.empty()) return {};
  if (!real.empty()) {
    spectral::require_uniform_set(real, "frerec", "real");
    spectral::require_uniform_set(images, "frerec", "images", &real[0], "real image 0");
  }
  const fs::path path =
      calibrate_to_store(VectorImageStore(images), VectorImageStore(real), settings, checkpoint, leave_one_out,
                         index_offset, run);
  const H5ImageStore store(path);
  return store.read_range(0, store.size());
}

namespace {

// A sampled split as an ImageStore (reads through the HDF5 image cache; never whole).
class ImageSetStore final : public ImageStore {
 public:
  explicit ImageSetStore(const datasets::ImageSet& set) : set_(set) {}
  std::size_t size() const override { return set_.size(); }
  int channels() const override { return set_.channels(); }
  int height() const override { return set_.height(); }
  int width() const override { return set_.width(); }
  std::vector<Image> read_range(std::size_t begin, std::size_t end) const override { return set_.read_range(begin, end); }
  std::vector<Image> read_rows(const std::vector<std::size_t>& rows) const override { return set_.read_batch(rows); }

 private:
  const datasets::ImageSet& set_;
};

// Calibrated images (an artifact read sample by sample) with the labels and ids of `like`.
class StoreSampleSource final : public train::SampleSource {
 public:
  StoreSampleSource(const fs::path& artifact, const datasets::ImageSet& like)
      : store_(artifact), labels_(like.labels()), ids_(like.ids()) {
    if (store_.size() != labels_.size())
      throw RunError(fmt::format("frerec: the calibrated artifact '{}' holds {} images for a set of {}; delete it to "
                                 "rebuild", artifact.string(), store_.size(), labels_.size()));
  }
  std::size_t size() const override { return store_.size(); }
  train::Sample get(std::size_t index) const override { return {store_.read(index), labels_.at(index), ids_.at(index)}; }

 private:
  H5ImageStore store_;
  std::vector<int> labels_;
  std::vector<std::string> ids_;
};

// Table 3's image quality: each calibrated synthetic image against its uncalibrated
// original (PSNR per image capped at 100 dB so identical images stay finite; SSIM Gaussian
// 11×11), and the spectral gap (high band) of the synthetic pool to the real training
// images before and after calibration. Streams all three sets.
nlohmann::json calibration_quality(const ImageStore& raw, const ImageStore& calibrated, const ImageStore& real,
                                   int threads) {
  double psnr_sum = 0, ssim_sum = 0;
  for_each_chunk(raw, raw.chunk_images() / 2, [&](std::size_t first, const std::vector<Image>& chunk) {
    const std::vector<Image> other = calibrated.read_range(first, first + chunk.size());
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      psnr_sum += std::min(100.0, metrics::psnr(chunk[i], other[i]));
      ssim_sum += spectral::ssim(chunk[i], other[i]);
    }
  });
  const double n = static_cast<double>(std::max<std::size_t>(1, raw.size()));
  const auto real_profile = spectral::mean_azimuthal_profile(real, threads);
  return {{"psnr", psnr_sum / n},
          {"ssim", ssim_sum / n},
          {"images", raw.size()},
          {"spectral_gap_before", spectral::spectral_gap(real_profile, spectral::mean_azimuthal_profile(raw, threads)).high_band},
          {"spectral_gap_after",
           spectral::spectral_gap(real_profile, spectral::mean_azimuthal_profile(calibrated, threads)).high_band}};
}

bool applies(const FreRecSettings& s, const std::string& set) {
  return std::find(s.apply_to.begin(), s.apply_to.end(), set) != s.apply_to.end();
}

class FreRecMethod : public augmentations::Method {
 public:
  FreRecMethod(const config::Params& params, FreRecStage stage, std::string name)
      : settings_(frerec_settings_from(params, stage)), per_class_(params.get<long>("synthetic_per_class")),
        name_(std::move(name)) {}

  augmentations::TrainingInputs prepare(const augmentations::CellData& data) override {
    const auto& task = data.task;
    if (task.synthetic.empty())
      throw RunError(fmt::format("{}: the task '{}' has no synthetic pool: set data.synthetic (e.g. "
                                 "data.synthetic.name=synthetic_folder data.synthetic.root=DIR)",
                                 name_, task.dataset));
    const FreRecSettings settings = settings_for_cell(settings_, data.seed);
    // Every set is streamed (issue 18): read through the image cache in chunks, calibrated
    // chunk by chunk into an artifact that the trainer reads sample by sample.
    const ImageSetStore real(task.real_train);
    fs::path checkpoint;
    if (settings.stage != FreRecStage::kShr) checkpoint = trained_dae(real, settings, data.run);
    auto calibrated_source = [&](const datasets::ImageSet& set, bool leave_one_out, std::uint64_t offset) {
      const ImageSetStore store(set);
      return std::make_shared<StoreSampleSource>(
          calibrate_to_store(store, real, settings, checkpoint, leave_one_out, offset, data.run), set);
    };
    augmentations::TrainingInputs inputs;
    nlohmann::json calibrated = nlohmann::json::array();
    if (applies(settings, "real_train")) {
      inputs.train = calibrated_source(task.real_train, true, 1ull << 40);
      calibrated.push_back("real_train");
    } else {
      inputs.train = augmentations::source_of(task.real_train);
    }
    if (!task.real_val.empty() && applies(settings, "real_val")) {
      inputs.validation = calibrated_source(task.real_val, false, 3ull << 40);
      calibrated.push_back("real_val");
    } else if (!task.real_val.empty()) {
      inputs.validation = augmentations::source_of(task.real_val);
    }
    if (applies(settings, "real_test")) {
      inputs.test = calibrated_source(task.real_test, false, 2ull << 40);
      calibrated.push_back("real_test");
    } else {
      inputs.test = augmentations::source_of(task.real_test);
    }
    augmentations::SyntheticPool pool = augmentations::synthetic_pool_of(task.synthetic, task.generator);
    nlohmann::json quality;
    if (applies(settings, "synthetic")) {
      const ImageSetStore raw(task.synthetic);
      const fs::path path = calibrate_to_store(raw, real, settings, checkpoint, false, 0, data.run);
      quality = calibration_quality(raw, H5ImageStore(path), real, data.run.threads);
      pool.source = std::make_shared<StoreSampleSource>(path, task.synthetic);
      calibrated.push_back("synthetic");
    }
    inputs.record["train_real"] = task.real_train.size();
    inputs = augmentations::mix_real_and_synthetic(std::move(inputs), pool, per_class_, data.seed, name_);
    inputs.record["frerec"] = {{"stage", to_string(settings.stage)}, {"calibrated", calibrated},
                               {"shr", settings.shr.canonical()},
                               {"fesa", settings.dae["network"]["fesa"].as<bool>()},
                               {"randomness", settings.per_cell_randomness ? "per_cell" : "fixed"},
                               {"shr_seed", settings.shr.seed},
                               {"dae_seed", dae_seed(settings.dae)},
                               {"dae_checkpoint", checkpoint.string()}};
    if (!quality.is_null()) inputs.record["quality"] = quality;
    return inputs;
  }

 private:
  FreRecSettings settings_;
  long per_class_;
  std::string name_;
};

}  // namespace

namespace {

// Each variant with its place in the reports: GDA+FreRec is Table 2's last row, and the
// Table 3 rows follow the paper (SHR, RHM w.o. FESA, RHM w. FESA, FreRec) plus our extra row.
struct Variant {
  const char* name;
  FreRecStage stage;
  bool fesa;
  const char* description;
  augmentations::ReportPlacement placement;
};
const Variant kVariants[] = {
    {"gda_frerec", FreRecStage::kFull, true, "GDA+FreRec: SHR then RHM (FET/FESA auto-encoder) on synthetic and real images",
     {100, 3, "FreRec"}},
    {"gda_shr", FreRecStage::kShr, true, "Table 3: GDA with SHR only", {-1, 0, "SHR"}},
    {"gda_rhm", FreRecStage::kRhm, true, "Table 3: GDA with RHM (FESA auto-encoder), no SHR at inference",
     {-1, 2, "RHM w. FESA"}},
    {"gda_rhm_restormer", FreRecStage::kRhm, false, "Table 3: GDA with RHM without FESA (plain Restormer), no SHR at inference",
     {-1, 1, "RHM w.o. FESA"}},
    {"gda_shr_restormer", FreRecStage::kFull, false, "Table 3 extra row: SHR then plain-Restormer RHM",
     {-1, 4, "SHR + RHM w.o. FESA (extra)"}}};

}  // namespace

std::optional<FreRecSettings> frerec_method_settings(const std::string& method, const config::Params& params) {
  for (const auto& v : kVariants)
    if (method == v.name) return frerec_settings_from(params, v.stage);
  return std::nullopt;
}

std::vector<Image> calibrated_synthetic(const std::vector<Image>& synthetic, const std::vector<Image>& real,
                                        const FreRecSettings& settings, const RunContext& run) {
  fs::path checkpoint;
  if (settings.stage != FreRecStage::kShr) checkpoint = trained_dae(real, settings, run);
  return calibrate(synthetic, real, settings, checkpoint, false, 0, run);  // as FreRecMethod::prepare
}

void register_frerec_methods() {
  for (const auto& v : kVariants) {
    const FreRecStage stage = v.stage;
    const std::string name = v.name;
    augmentations::method_registry().add(
        v.name, v.description, frerec_schema(v.fesa),
        [stage, name](const config::Params& p) -> std::unique_ptr<augmentations::Method> {
          return std::make_unique<FreRecMethod>(p, stage, name);
        });
    augmentations::set_report_placement(v.name, v.placement);
  }
}

}  // namespace frerec::pipeline
