#include "augmentations/frerec/calibrate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <set>

#include "augmentations/frerec/pipeline.h"
#include "augmentations/frerec/rhm.h"
#include "augmentations/frerec/shr.h"
#include "framework/config/interpolation.h"
#include "framework/config/loader.h"
#include "framework/cache/artifact_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/cache/image_store_h5.h"
#include "framework/core/atomic_file.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/io/image_io.h"
#include "framework/spectral/parallel.h"
#include "framework/core/error.h"
#include "framework/io/image_folder.h"
#include "framework/metrics/metrics.h"
#include "framework/runner/record.h"
#include "framework/spectral/spectrum.h"
#include "framework/spectral/ssim.h"

namespace frerec::pipeline {
namespace fs = std::filesystem;
using io::ImageFolder;
using io::image_folder_output_names;

namespace {

constexpr const char* kOneSize =
    "calibrate works at one size (resize the folders to one size first, e.g. with `frerec datasets export` or your "
    "generator's output size)";

nlohmann::json quality_summary(const ImageStore& reference, const ImageStore& test, int threads) {
  double psnr = 0, ssim = 0;
  for_each_chunk(reference, reference.chunk_images() / 2, [&](std::size_t first, const std::vector<Image>& chunk) {
    const std::vector<Image> other = test.read_range(first, first + chunk.size());
    std::vector<double> p(chunk.size()), q(chunk.size());
    spectral::parallel_for(chunk.size(), threads, [&](std::size_t i) {
      p[i] = metrics::psnr(chunk[i], other[i]);
      q[i] = spectral::ssim(chunk[i], other[i]);
    });
    for (std::size_t i = 0; i < chunk.size(); ++i) {  // summed in image order: thread-count independent
      psnr += p[i];
      ssim += q[i];
    }
  });
  const double n = static_cast<double>(std::max<std::size_t>(1, reference.size()));
  return {{"psnr_mean", psnr / n}, {"ssim_mean", ssim / n}};
}

// A folder's images decoded chunk by chunk into an HDF5 store in the artifact cache (kind
// "folder", keyed by the relative names, sizes and modification times of its files and the
// channel count), with the names and file bit depths beside them. DR scale (27,000 × 224²
// RGB) is never held whole: memory is one chunk. Errors as read_image_folder's: unreadable
// files (counted, the first named) and images of different shapes (the first two named).
struct IndexedFolder {
  std::vector<std::string> names;
  std::vector<int> bit_depths;
  std::unique_ptr<H5ImageStore> images;
};

// The image files below `root` and their relative names (errors as read_image_folder's).
struct FolderListing {
  fs::path root;
  std::string what;
  std::vector<fs::path> paths;
  std::vector<std::string> names;
};

FolderListing list_folder(const fs::path& root, const std::string& what) {
  if (!fs::is_directory(root)) throw ConfigError(fmt::format("{}: '{}' is not a folder", what, root.string()));
  FolderListing listing{root, what, io::list_images(root, true), {}};
  if (listing.paths.empty())
    throw RunError(fmt::format("{}: no images (.png .jpg .jpeg .bmp .tif) in '{}'", what, root.string()));
  for (const auto& path : listing.paths) listing.names.push_back(fs::relative(path, root).generic_string());
  return listing;
}

// Folders of at least this many images report their ingest and calibration progress.
constexpr std::size_t kProgressImages = 512;

IndexedFolder index_folder(const FolderListing& folder_listing, int channels, ArtifactCache& cache, int threads) {
  const fs::path& root = folder_listing.root;
  const std::string& what = folder_listing.what;
  const auto& paths = folder_listing.paths;
  Hasher listing;
  for (const auto& path : paths) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
    listing.update(fs::relative(path, root).generic_string() + ";" + std::to_string(size) + ";" +
                   std::to_string(mtime) + "\n");
  }
  const ArtifactKey key{"folder", listing.hex(), fmt::format("channels={}", channels), "1"};
  const fs::path path = cache.get_or_build(key, [&](const fs::path& tmp) {
    io::ReadOptions options;
    options.channels = channels;
    std::vector<std::string> names, problems;
    std::vector<std::int32_t> depths;
    std::unique_ptr<H5ImageWriter> writer;
    Image first_shape;
    std::string first_name;
    const std::size_t chunk = 64;
    std::optional<Progress> bar;
    if (paths.size() >= kProgressImages) bar.emplace(what, paths.size(), false);
    for (std::size_t b = 0; b < paths.size(); b += chunk) {
      const std::size_t e = std::min(paths.size(), b + chunk);
      std::vector<io::DecodedImage> decoded(e - b);
      std::vector<std::string> errors(e - b);
      spectral::parallel_for(e - b, threads, [&](std::size_t i) {
        try {
          decoded[i] = io::read_image(paths[b + i], options);
        } catch (const RunError& error) {
          errors[i] = error.what();
        }
      });
      std::vector<Image> good;
      for (std::size_t i = 0; i < e - b; ++i) {
        if (!errors[i].empty()) {
          problems.push_back(errors[i]);
          continue;
        }
        const std::string name = fs::relative(paths[b + i], root).generic_string();
        Image& image = decoded[i].image;
        if (!writer) {
          first_shape = Image(image.channels, image.height, image.width);
          first_name = name;
          writer = std::make_unique<H5ImageWriter>(tmp, image.channels, image.height, image.width);
        } else if (!image.same_shape(first_shape)) {
          throw ConfigError(fmt::format("{}: images of different shapes: '{}' is {}x{}x{} but '{}' is {}x{}x{}; {}", what,
                                        first_name, first_shape.channels, first_shape.height, first_shape.width, name,
                                        image.channels, image.height, image.width, kOneSize));
        }
        names.push_back(name);
        depths.push_back(decoded[i].bit_depth);
        good.push_back(std::move(image));
      }
      if (writer) writer->append(good);
      if (bar) bar->set(e);
    }
    if (bar) bar->finish();
    if (!problems.empty())
      throw RunError(fmt::format("{}: {} unreadable image{} in '{}', first: {}", what, problems.size(),
                                 problems.size() == 1 ? "" : "s", root.string(), problems.front()));
    writer->close();
    h5::File file(tmp, "a");
    h5::write_strings(file, "names", names);
    h5::write_array<std::int32_t>(file, "bit_depths", depths, {depths.size()});
  });
  IndexedFolder folder;
  {
    h5::File file(path, "r");
    folder.names = h5::read_strings(file, "names");
    const auto depths = h5::read_array<std::int32_t>(file, "bit_depths");
    folder.bit_depths.assign(depths.begin(), depths.end());
  }
  folder.images = std::make_unique<H5ImageStore>(path);
  return folder;
}

// `path` absolute, with symlinks, '.', '..' and a trailing '/' resolved as far as it exists.
fs::path resolved(const fs::path& path) {
  fs::path result = fs::weakly_canonical(fs::absolute(path));
  if (!result.has_filename() && result.has_relative_path()) result = result.parent_path();
  return result;
}

// True when `inner` is `outer` or lies below it, compared by whole path components.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

// calibrate never writes into, above or over its inputs, nor over a file in --out that an
// earlier calibrate did not write (one listed in the manifest.json it leaves there).
void require_safe_output(const CalibrateArgs& args, const std::vector<std::string>& outputs) {
  const fs::path out = resolved(args.out);
  for (const auto& [flag, input] : {std::pair{"--real", args.real}, std::pair{"--synthetic", args.synthetic}}) {
    const fs::path folder = resolved(input);
    if (!is_within(out, folder) && !is_within(folder, out)) continue;
    throw ConfigError(fmt::format("calibrate: --out '{}' {} {} '{}'; choose an output folder outside the input folders "
                                  "(inputs are never overwritten)",
                                  args.out.string(), out == folder ? "is" : is_within(out, folder) ? "lies inside" : "contains",
                                  flag, input.string()));
  }
  std::set<std::string> earlier;  // files a previous calibrate wrote into --out
  if (const auto manifest = read_json_file(args.out / "manifest.json"); manifest && manifest->is_array()) {
    const bool ours = std::all_of(manifest->begin(), manifest->end(), [](const nlohmann::json& row) {
      return row.is_object() && row.contains("input") && row.contains("output") && row["output"].is_string();
    });
    if (ours) {
      for (const auto& row : *manifest) earlier.insert(row["output"].get<std::string>());
      earlier.insert({"manifest.json", "calibration.json", "calibration.md", "dae_checkpoint.pt"});
    }
  }
  std::vector<std::string> targets = outputs;
  targets.insert(targets.end(), {"manifest.json", "calibration.json", "calibration.md"});
  if (args.stage != "shr" && args.checkpoint.empty()) targets.push_back("dae_checkpoint.pt");
  for (const auto& target : targets) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(args.out / target, ec)) || earlier.count(escape_invalid_utf8(target))) continue;
    throw ConfigError(fmt::format("calibrate: --out '{}' already holds '{}', which calibrate did not write; choose a "
                                  "new or empty output folder (existing files are never overwritten)",
                                  args.out.string(), target));
  }
}

}  // namespace

FreRecSettings calibrate_settings(const YAML::Node& root, const config::Provenance& provenance, FreRecStage stage) {
  const config::Schema full = frerec_schema(true);
  config::Schema schema;
  for (const char* key : {"shr", "dae", "dae_val_images", "dae_train_images"}) {
    const config::Field* f = full.find(key);
    if (f->type == config::Type::kMap)
      schema.add_map(f->name, *f->sub, f->doc);
    else
      schema.add_int(f->name, f->default_value.as<long>(), f->doc, f->min, f->max);
  }
  const YAML::Node validated = schema.validate(root, "", provenance);
  YAML::Node settings_node = YAML::Clone(validated);
  settings_node["apply_to"] = YAML::Load("[synthetic]");
  settings_node["synthetic_per_class"] = -1;
  return frerec_settings_from(config::Params(settings_node, ""), stage);
}

int calibrate_command(const CalibrateArgs& args, RunContext& run) {
  if (args.stage != "shr" && args.stage != "rhm" && args.stage != "full")
    throw ConfigError("calibrate --stage '" + args.stage + "' must be shr, rhm or full");
  if (args.out.empty()) throw ConfigError("calibrate: --out is required");
  // Options: the `shr` and `dae` blocks of --config (if any) plus key=value overrides.
  YAML::Node root(YAML::NodeType::Map);
  config::Provenance provenance;
  if (!args.config.empty()) {
    const auto loaded = config::load_config(args.config, args.overrides);
    root = loaded.root;
    provenance = loaded.provenance;
  } else {
    for (const auto& o : args.overrides) {
      const auto eq = o.find('=');
      if (eq == std::string::npos) throw ConfigError("calibrate: override '" + o + "' must look like shr.k=100");
      config::set_by_path(root, o.substr(0, eq), YAML::Load(o.substr(eq + 1)));
      provenance.set(o.substr(0, eq), "command line");
    }
  }
  config::resolve_interpolations(root, provenance);
  const FreRecSettings settings = calibrate_settings(root, provenance, parse_stage(args.stage));
  const shr::ShrOptions& options = settings.shr;

  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<ArtifactCache> own_cache;
  ArtifactCache& cache = run.cache ? *run.cache : *(own_cache = std::make_unique<ArtifactCache>(run.cache_dir));
  // Names first: the output folder is checked before any image is decoded.
  const FolderListing synthetic_listing = list_folder(args.synthetic, "--synthetic");
  const FolderListing real_listing = list_folder(args.real, "--real");
  const std::vector<std::string> outputs = image_folder_output_names(synthetic_listing.names);
  require_safe_output(args, outputs);
  const IndexedFolder synthetic = index_folder(synthetic_listing, 0, cache, run.threads);
  const int channels = synthetic.images->channels();
  const IndexedFolder real = index_folder(real_listing, channels, cache, run.threads);
  if (real.images->height() != synthetic.images->height() || real.images->width() != synthetic.images->width() ||
      real.images->channels() != channels)
    throw ConfigError(fmt::format("--real images are {}x{}x{} ('{}') but --synthetic images are {}x{}x{} ('{}'): sizes "
                                  "and channel counts must match; {}",
                                  real.images->channels(), real.images->height(), real.images->width(),
                                  real.names.front(), channels, synthetic.images->height(), synthetic.images->width(),
                                  synthetic.names.front(), kOneSize));
  // The manifest first: it marks the output names as ours should this run be interrupted.
  nlohmann::json manifest = nlohmann::json::array();
  for (std::size_t i = 0; i < outputs.size(); ++i)
    manifest.push_back({{"input", synthetic.names[i]}, {"output", outputs[i]}, {"bit_depth", synthetic.bit_depths[i]}});
  write_json_atomic(args.out / "manifest.json", manifest);
  spdlog::info("calibrate: {} synthetic and {} real images of {}x{}x{}, stage {}", synthetic.images->size(),
               real.images->size(), channels, real.images->height(), real.images->width(), args.stage);
  nlohmann::json timings;

  fs::path checkpoint;
  if (settings.stage != FreRecStage::kShr) {
    const auto t = std::chrono::steady_clock::now();
    if (!args.checkpoint.empty() && fs::exists(args.checkpoint)) {
      checkpoint = args.checkpoint;
      spdlog::info("calibrate: using the auto-encoder {}", checkpoint.string());
    } else {
      checkpoint = trained_dae(*real.images, settings, run);
      const fs::path keep = args.checkpoint.empty() ? args.out / "dae_checkpoint.pt" : args.checkpoint;
      fs::create_directories(keep.parent_path().empty() ? fs::path(".") : keep.parent_path());
      write_file_atomic(keep, read_file(checkpoint));
      checkpoint = keep;
      spdlog::info("calibrate: auto-encoder saved to {} (reuse it with --checkpoint)", keep.string());
    }
    timings["dae_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  // The auto-encoder's learning curve: validation PSNR per epoch beside the PSNR of its
  // (SHR-perturbed) inputs, i.e. how much RHM restores on held-out real images.
  nlohmann::json curve = nlohmann::json::array();
  std::string curve_md;
  if (!checkpoint.empty()) {
    const auto history = rhm::dae_history(checkpoint);
    if (!history.empty()) {
      curve_md = "Auto-encoder learning curve (held-out real images; input = SHR(x), target = x):\n\n"
                 "| epoch | train loss | val PSNR (dB) | input PSNR (dB) | gain (dB) | val SSIM | seconds |\n"
                 "|---:|---:|---:|---:|---:|---:|---:|\n";
      for (const auto& e : history) {
        curve.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"val_psnr", e.val_psnr},
                         {"input_psnr", e.input_psnr}, {"val_ssim", e.val_ssim}, {"seconds", e.seconds}});
        curve_md += fmt::format("| {} | {:.5f} | {:.2f} | {:.2f} | {:+.2f} | {:.4f} | {:.1f} |\n", e.epoch, e.train_loss,
                                e.val_psnr, e.input_psnr, e.val_psnr - e.input_psnr, e.val_ssim, e.seconds);
      }
      curve_md += "\n";
    }
  }
  const auto t = std::chrono::steady_clock::now();
  const H5ImageStore output(
      calibrate_to_store(*synthetic.images, *real.images, settings, checkpoint, false, 0, run));
  timings["calibration_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();

  // Written chunk by chunk under the output names, at each input's bit depth.
  for_each_chunk(output, output.chunk_images(), [&](std::size_t first, const std::vector<Image>& chunk) {
    io::write_images_as(args.out, outputs, synthetic.bit_depths, first, chunk);
  });
  const std::vector<std::string>& written = outputs;
  const auto real_profile = spectral::mean_azimuthal_profile(*real.images, run.threads);
  const auto gap_before =
      spectral::spectral_gap(real_profile, spectral::mean_azimuthal_profile(*synthetic.images, run.threads), options.ratio);
  const auto gap_after =
      spectral::spectral_gap(real_profile, spectral::mean_azimuthal_profile(output, run.threads), options.ratio);
  timings["total_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json summary = {
      {"stage", args.stage},
      {"real", args.real.string()},
      {"synthetic", args.synthetic.string()},
      {"images", written.size()},
      {"shr", options.canonical()},
      {"checkpoint", checkpoint.string()},
      {"spectral_gap", {{"before", {{"high_band", gap_before.high_band}, {"all_radii", gap_before.all_radii}}},
                        {"after", {{"high_band", gap_after.high_band}, {"all_radii", gap_after.all_radii}}}}},
      {"output_vs_input", quality_summary(*synthetic.images, output, run.threads)},
      {"dae_learning_curve", curve},
      {"timings", timings},
      {"environment", environment_json(run.threads, run.device)}};
  write_json_atomic(args.out / "calibration.json", summary);
  std::string md = fmt::format("# FreRec calibration ({})\n\n", args.stage);
  md += fmt::format("- synthetic: `{}` ({} images)\n- real reference: `{}` ({} images)\n- SHR: `{}`\n{}\n",
                    args.synthetic.string(), written.size(), args.real.string(), real.images->size(), options.canonical(),
                    checkpoint.empty() ? "" : "- RHM auto-encoder: `" + checkpoint.string() + "`\n");
  md += "| | spectral gap (high band) | spectral gap (all radii) |\n|---|---:|---:|\n";
  md += fmt::format("| before | {:.4f} | {:.4f} |\n| after | {:.4f} | {:.4f} |\n\n", gap_before.high_band,
                    gap_before.all_radii, gap_after.high_band, gap_after.all_radii);
  md += curve_md;
  md += fmt::format("Output vs input: PSNR {:.2f} dB, SSIM {:.4f}. Total time {:.1f}s.\n",
                    summary["output_vs_input"]["psnr_mean"].get<double>(),
                    summary["output_vs_input"]["ssim_mean"].get<double>(), timings["total_seconds"].get<double>());
  write_file_atomic(args.out / "calibration.md", md);
  std::cout << md;
  std::cout << fmt::format("wrote {} images, manifest.json, calibration.json and calibration.md to {}\n", written.size(),
                           args.out.string());
  return 0;
}

}  // namespace frerec::pipeline
