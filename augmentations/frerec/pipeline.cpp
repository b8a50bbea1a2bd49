#include "augmentations/frerec/pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>

#include "augmentations/core/gda.h"
#include "augmentations/method.h"
#include "augmentations/sources.h"
#include "augmentations/frerec/retrieval_cache.h"
#include "framework/cache/artifact_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/metrics/metrics.h"
#include "framework/spectral/spectrum.h"
#include "framework/spectral/ssim.h"
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
  Hasher hasher;
  const std::uint64_t n = images.size();
  hasher.update_pod(n);
  for (const auto& image : images) {
    const std::int32_t shape[3] = {image.channels, image.height, image.width};
    hasher.update(shape, sizeof(shape));
    hasher.update(image.data.data(), image.data.size() * sizeof(float));
  }
  return hasher.hex();
}

namespace {

ArtifactCache& cache_of(const RunContext& run, std::unique_ptr<ArtifactCache>& own) {
  if (run.cache) return *run.cache;
  own = std::make_unique<ArtifactCache>(run.cache_dir);
  return *own;
}

// Per-image neighbour statistics for SHR with a cached retrieval.
std::vector<Image> shr_images(const std::vector<Image>& images, const std::vector<Image>& real,
                              const shr::ShrOptions& options, bool leave_one_out, std::uint64_t index_offset,
                              const RunContext& run) {
  const auto neighbours =
      cached_retrieval(images, real, shr::retrieval_options(options, run.threads, leave_one_out), run);
  return shr::shr_batch(images, real, neighbours, options, run.threads, index_offset);
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
  const int channels = real.front().channels;
  rhm::DaeTrainOptions options = dae_options(settings, channels);
  const int held_out = std::min<int>(settings.dae_val_images, static_cast<int>(real.size()) / 5 + 1);
  ArtifactKey key{"dae", images_fingerprint(real),
                  fmt::format("shr={};dae={};val={}", settings.shr.canonical(), options.canonical(), held_out),
                  "2"};  // 2: FESA with live gradients and per-channel spectra (networks of "1" are not reused)
  std::unique_ptr<ArtifactCache> own;
  ArtifactCache& cache = cache_of(run, own);
  const std::string digest = key.digest();
  const fs::path work = cache.dir() / "dae" / (digest + ".work");
  const fs::path artifact = cache.get_or_build(key, [&](const fs::path& tmp) {
    // Real images: SHR(x) with leave-one-out retrieval as input, x as target; the last
    // `held_out` images validate. Fresh ε per epoch through the perturb function.
    const std::size_t n_train = real.size() - static_cast<std::size_t>(held_out);
    spdlog::info("frerec: training the RHM auto-encoder on {} real images ({} held out), {} epochs", n_train, held_out,
                 options.epochs);
    const shr::ShrOptions shr_options = settings.shr;
    const auto neighbours =
        cached_retrieval(real, real, shr::retrieval_options(shr_options, run.threads, true), run);
    const auto stats = std::make_shared<std::vector<shr::ImageStats>>(
        shr::high_frequency_stats(real, shr_options, run.threads));
    auto perturb_of = [stats, neighbours, shr_options](std::size_t offset) {
      return [stats, neighbours, shr_options, offset](std::size_t index, const Image& target, std::uint64_t seed) {
        std::vector<const shr::ImageStats*> picked;
        const std::size_t i = index + offset;
        for (int r = 0; r < neighbours.k; ++r) picked.push_back(&(*stats)[static_cast<std::size_t>(neighbours.index(static_cast<int>(i), r))]);
        shr::ShrOptions o = shr_options;
        o.seed = seed;
        return shr::apply_shr(target, picked, o, i);
      };
    };
    rhm::DaePairs train, validation;
    train.targets.assign(real.begin(), real.begin() + static_cast<long>(n_train));
    train.perturb = perturb_of(0);
    validation.targets.assign(real.begin() + static_cast<long>(n_train), real.end());
    validation.perturb = perturb_of(n_train);
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

std::vector<Image> calibrate(const std::vector<Image>& images, const std::vector<Image>& real,
                             const FreRecSettings& settings, const fs::path& checkpoint, bool leave_one_out,
                             std::uint64_t index_offset, const RunContext& run) {
  if (images.empty()) return {};
  const std::string checkpoint_sha =
      settings.stage == FreRecStage::kShr ? "none" : rhm::checkpoint_fingerprint(checkpoint);
  ArtifactKey key{"calibrated", images_fingerprint(images) + ";" + images_fingerprint(real),
                  fmt::format("stage={};shr={};dae={};loo={};offset={}", to_string(settings.stage),
                              settings.shr.canonical(), checkpoint_sha, leave_one_out, index_offset),
                  "1"};
  std::unique_ptr<ArtifactCache> own;
  ArtifactCache& cache = cache_of(run, own);
  std::optional<std::vector<Image>> computed;
  const fs::path path = cache.get_or_build(key, [&](const fs::path& tmp) {
    std::vector<Image> out = images;
    if (settings.stage != FreRecStage::kRhm) out = shr_images(out, real, settings.shr, leave_one_out, index_offset, run);
    if (settings.stage != FreRecStage::kShr) {
      const auto model = rhm::DaeModel::load(checkpoint, run.device);
      if (model.channels() != out.front().channels)
        throw RunError(fmt::format("frerec: the auto-encoder '{}' takes {} channels but the images have {}",
                                   checkpoint.string(), model.channels(), out.front().channels));
      out = model.restore(out, 8);
    }
    const auto& first = out.front();
    std::vector<float> flat;
    flat.reserve(out.size() * first.size());
    for (const auto& im : out) flat.insert(flat.end(), im.data.begin(), im.data.end());
    h5::File file(tmp, "w");
    h5::write_array<float>(file, "images", flat,
                           {out.size(), static_cast<hsize_t>(first.channels), static_cast<hsize_t>(first.height),
                            static_cast<hsize_t>(first.width)});
    computed = std::move(out);
  });
  if (computed) return *computed;
  h5::File file(path, "r");
  std::vector<hsize_t> dims;
  const auto flat = h5::read_array<float>(file, "images", &dims);
  std::vector<Image> out;
  const int c = static_cast<int>(dims.at(1)), h = static_cast<int>(dims.at(2)), w = static_cast<int>(dims.at(3));
  const std::size_t per = static_cast<std::size_t>(c) * h * w;
  for (std::size_t i = 0; i < dims.at(0); ++i) {
    Image im(c, h, w);
    std::copy(flat.begin() + static_cast<long>(i * per), flat.begin() + static_cast<long>((i + 1) * per), im.data.begin());
    out.push_back(std::move(im));
  }
  return out;
}

namespace {

std::shared_ptr<const train::SampleSource> vector_source(const std::vector<Image>& images, const datasets::ImageSet& like) {
  std::vector<train::Sample> samples;
  for (std::size_t i = 0; i < images.size(); ++i) samples.push_back({images[i], like.labels()[i], like.ids()[i]});
  return std::make_shared<train::VectorSampleSource>(std::move(samples));
}

// Table 3's image quality: each calibrated synthetic image against its uncalibrated
// original (PSNR per image capped at 100 dB so identical images stay finite; SSIM Gaussian
// 11×11), and the spectral gap (high band) of the synthetic pool to the real training
// images before and after calibration.
nlohmann::json calibration_quality(const std::vector<Image>& raw, const std::vector<Image>& calibrated,
                                   const std::vector<Image>& real, int threads) {
  double psnr_sum = 0, ssim_sum = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    psnr_sum += std::min(100.0, metrics::psnr(raw[i], calibrated[i]));
    ssim_sum += spectral::ssim(raw[i], calibrated[i]);
  }
  const double n = static_cast<double>(std::max<std::size_t>(1, raw.size()));
  return {{"psnr", psnr_sum / n},
          {"ssim", ssim_sum / n},
          {"images", raw.size()},
          {"spectral_gap_before", spectral::spectral_gap(real, raw, threads).high_band},
          {"spectral_gap_after", spectral::spectral_gap(real, calibrated, threads).high_band}};
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
    const std::vector<Image> real = task.real_train.load_all();
    fs::path checkpoint;
    if (settings.stage != FreRecStage::kShr) checkpoint = trained_dae(real, settings, data.run);
    augmentations::TrainingInputs inputs;
    nlohmann::json calibrated = nlohmann::json::array();
    if (applies(settings, "real_train")) {
      inputs.train = vector_source(calibrate(real, real, settings, checkpoint, true, 1ull << 40, data.run), task.real_train);
      calibrated.push_back("real_train");
    } else {
      inputs.train = augmentations::source_of(task.real_train);
    }
    if (!task.real_val.empty() && applies(settings, "real_val")) {
      inputs.validation = vector_source(
          calibrate(task.real_val.load_all(), real, settings, checkpoint, false, 3ull << 40, data.run), task.real_val);
      calibrated.push_back("real_val");
    } else if (!task.real_val.empty()) {
      inputs.validation = augmentations::source_of(task.real_val);
    }
    if (applies(settings, "real_test")) {
      inputs.test = vector_source(calibrate(task.real_test.load_all(), real, settings, checkpoint, false, 2ull << 40, data.run),
                                  task.real_test);
      calibrated.push_back("real_test");
    } else {
      inputs.test = augmentations::source_of(task.real_test);
    }
    augmentations::SyntheticPool pool = augmentations::synthetic_pool_of(task.synthetic, task.generator);
    nlohmann::json quality;
    if (applies(settings, "synthetic")) {
      const std::vector<Image> raw = task.synthetic.load_all();
      const std::vector<Image> out = calibrate(raw, real, settings, checkpoint, false, 0, data.run);
      quality = calibration_quality(raw, out, real, data.run.threads);
      pool.source = vector_source(out, task.synthetic);
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
