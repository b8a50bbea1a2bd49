#include "experiments/tools.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <map>
#include <set>

#include "augmentations/frerec/shr.h"
#include "datasets/export.h"
#include "experiments/frerec_pipeline.h"
#include "framework/cache/artifact_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/io/image_io.h"
#include "framework/metrics/metrics.h"
#include "framework/report/figure.h"
#include "framework/report/table.h"
#include "framework/runner/record.h"
#include "framework/spectral/spectrum.h"
#include "framework/spectral/ssim.h"
#include "models/restoration/dae_trainer.h"

namespace frerec::experiments {
namespace fs = std::filesystem;

ImageFolder read_image_folder(const fs::path& root, const std::string& what, int channels, int size) {
  if (!fs::is_directory(root)) throw ConfigError(fmt::format("{}: '{}' is not a folder", what, root.string()));
  ImageFolder folder;
  folder.root = root;
  const auto paths = io::list_images(root, true);
  if (paths.empty()) throw RunError(fmt::format("{}: no images (.png .jpg .jpeg .bmp .tif) in '{}'", what, root.string()));
  io::ReadOptions options;
  options.channels = channels;
  options.height = options.width = size;
  std::vector<std::string> problems;
  for (const auto& path : paths) {
    try {
      io::DecodedImage decoded = io::read_image(path, options);
      folder.names.push_back(fs::relative(path, root).generic_string());
      folder.images.push_back(std::move(decoded.image));
      folder.bit_depths.push_back(decoded.bit_depth);
    } catch (const RunError& e) {
      problems.push_back(e.what());
    }
  }
  if (!problems.empty())
    throw RunError(fmt::format("{}: {} unreadable image{} in '{}', first: {}", what, problems.size(),
                               problems.size() == 1 ? "" : "s", root.string(), problems.front()));
  return folder;
}

std::vector<std::string> image_folder_output_names(const std::vector<std::string>& names) {
  auto is_png = [](const fs::path& name) { return name.extension() == ".png" || name.extension() == ".PNG"; };
  std::set<std::string> taken;
  for (const auto& name : names)
    if (is_png(name)) taken.insert(name);
  std::vector<std::string> outputs;
  for (const auto& name : names) {
    if (is_png(name)) {
      outputs.push_back(name);
      continue;
    }
    const fs::path path = name;
    const std::string extension = path.extension().empty() ? "" : path.extension().string().substr(1);
    const std::string base = (path.parent_path() / path.stem()).generic_string();
    std::string output = base + ".png";
    for (int k = 1; !taken.insert(output).second; ++k)
      output = base + "__" + extension + (k == 1 ? "" : "__" + std::to_string(k)) + ".png";
    outputs.push_back(output);
  }
  return outputs;
}

std::vector<std::string> write_image_folder(const fs::path& out, const ImageFolder& like, const std::vector<Image>& images) {
  FREREC_ASSERT(images.size() == like.names.size(), "write_image_folder: one image per name");
  const std::vector<std::string> written = image_folder_output_names(like.names);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const fs::path path = out / written[i];
    fs::create_directories(path.parent_path());
    const fs::path tmp = temporary_path_for(path);
    io::write_png(tmp, images[i], like.bit_depths[i] == 16 ? 16 : 8);
    commit_atomic(tmp, path);
  }
  return written;
}

namespace {

// Every image of `a` and of `b` has one shape; messages name the files. `fix` says what to
// do: spectra has --size, calibrate keeps each image's size and has none.
void require_same_shapes(const ImageFolder& a, const std::string& name_a, const ImageFolder& b,
                         const std::string& name_b, const std::string& fix) {
  auto shape = [](const Image& im) { return fmt::format("{}x{}x{}", im.channels, im.height, im.width); };
  for (const ImageFolder* folder : {&a, &b}) {
    const std::string& name = folder == &a ? name_a : name_b;
    for (std::size_t i = 1; i < folder->images.size(); ++i)
      if (!folder->images[i].same_shape(folder->images.front()))
        throw ConfigError(fmt::format("{}: images of different shapes: '{}' is {} but '{}' is {}; {}", name,
                                      folder->names.front(), shape(folder->images.front()), folder->names[i],
                                      shape(folder->images[i]), fix));
  }
  if (!b.images.empty() && !a.images.front().same_shape(b.images.front()))
    throw ConfigError(fmt::format("{} images are {} ('{}') but {} images are {} ('{}'): sizes and channel counts must "
                                  "match; {}",
                                  name_a, shape(a.images.front()), a.names.front(), name_b, shape(b.images.front()),
                                  b.names.front(), fix));
}

}  // namespace

int image_quality_command(const ImageQualityArgs& args, const RunContext& run) {
  (void)run;
  const spectral::SsimWindow window = spectral::parse_ssim_window(args.ssim, "metrics image-quality --ssim");
  std::vector<std::pair<std::string, std::pair<Image, Image>>> pairs;
  if (fs::is_directory(args.reference) != fs::is_directory(args.test))
    throw ConfigError("metrics image-quality: --reference and --test must both be images or both be folders");
  if (fs::is_directory(args.reference)) {
    const ImageFolder ref = read_image_folder(args.reference, "--reference");
    const ImageFolder test = read_image_folder(args.test, "--test");
    std::map<std::string, std::size_t> by_stem;
    for (std::size_t i = 0; i < test.names.size(); ++i) by_stem[fs::path(test.names[i]).replace_extension().string()] = i;
    for (std::size_t i = 0; i < ref.names.size(); ++i) {
      const auto it = by_stem.find(fs::path(ref.names[i]).replace_extension().string());
      if (it != by_stem.end()) pairs.push_back({ref.names[i], {ref.images[i], test.images[it->second]}});
    }
    if (pairs.empty())
      throw RunError(fmt::format("metrics image-quality: no file names in common between '{}' and '{}'",
                                 args.reference.string(), args.test.string()));
  } else {
    pairs.push_back({args.test.filename().string(),
                     {io::read_image(args.reference).image, io::read_image(args.test).image}});
  }
  nlohmann::json per_image = nlohmann::json::array();
  double psnr_sum = 0, ssim_sum = 0;
  std::string csv = "name,psnr,ssim\n";
  for (const auto& [name, pair] : pairs) {
    const auto& [a, b] = pair;
    if (!a.same_shape(b))
      throw ConfigError(fmt::format("metrics image-quality: '{}' is {}x{}x{} in --reference but {}x{}x{} in --test",
                                    name, a.channels, a.height, a.width, b.channels, b.height, b.width));
    const double p = metrics::psnr(a, b);
    const double s = spectral::ssim(a, b, window);
    psnr_sum += p;
    ssim_sum += s;
    per_image.push_back({{"name", name}, {"psnr", p}, {"ssim", s}});
    csv += fmt::format("{},{:.6f},{:.6f}\n", name, p, s);
  }
  const double n = static_cast<double>(pairs.size());
  nlohmann::json summary = {{"pairs", pairs.size()}, {"psnr_mean", psnr_sum / n}, {"ssim_mean", ssim_sum / n},
                            {"ssim_window", args.ssim}, {"images", per_image}};
  if (!args.csv.empty()) write_file_atomic(args.csv, csv);
  if (args.json) {
    std::cout << json_text(summary, 2) << "\n";
  } else {
    if (pairs.size() > 1)
      for (const auto& row : per_image)
        std::cout << fmt::format("{:<40} PSNR {:8.3f} dB  SSIM {:.5f}\n", row["name"].get<std::string>(),
                                 row["psnr"].get<double>(), row["ssim"].get<double>());
    std::cout << fmt::format("{} pair{}: PSNR {:.3f} dB, SSIM ({}) {:.5f}\n", pairs.size(), pairs.size() == 1 ? "" : "s",
                             psnr_sum / n, args.ssim, ssim_sum / n);
  }
  return 0;
}

int spectra_command(const SpectraArgs& args, const RunContext& run) {
  if (args.out.empty()) throw ConfigError("spectra: --out is required");
  const ImageFolder real = read_image_folder(args.real, "--real", 0, args.size);
  const int channels = real.images.front().channels;
  const ImageFolder synthetic = read_image_folder(args.synthetic, "--synthetic", channels, args.size);
  const std::string resize = "pass --size N to resize them all";
  require_same_shapes(real, "--real", synthetic, "--synthetic", resize);
  std::optional<ImageFolder> calibrated;
  if (!args.calibrated.empty()) {
    calibrated = read_image_folder(args.calibrated, "--calibrated", channels, args.size);
    require_same_shapes(real, "--real", *calibrated, "--calibrated", resize);
  }
  const int h = real.images.front().height, w = real.images.front().width;
  spdlog::info("spectra: {} real, {} synthetic{} images of {}x{}x{}", real.images.size(), synthetic.images.size(),
               calibrated ? fmt::format(", {} calibrated", calibrated->images.size()) : "", channels, h, w);
  fs::create_directories(args.out);

  // Fig. 1 style: mean log spectra and their difference.
  const auto real_log = spectral::mean_log_spectrum(real.images, run.threads);
  const auto synth_log = spectral::mean_log_spectrum(synthetic.images, run.threads);
  std::vector<double> difference(real_log.size());
  for (std::size_t i = 0; i < difference.size(); ++i) difference[i] = synth_log[i] - real_log[i];
  report::Figure fig1;
  fig1.title = "Mean log-amplitude spectra (centred)";
  report::Heatmap a{"real", h, w, real_log, std::nullopt, std::nullopt, false, "ln|F|"};
  report::Heatmap b{"synthetic", h, w, synth_log, a.vmin, a.vmax, false, "ln|F|"};
  // Robust colour limits (1st–99th percentile): a few exactly-zero bins (ln 1e-8) of
  // generated images would otherwise flatten the maps.
  auto percentile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  std::vector<double> both = real_log;
  both.insert(both.end(), synth_log.begin(), synth_log.end());
  a.vmin = b.vmin = percentile(both, 0.01);
  a.vmax = b.vmax = percentile(both, 0.99);
  std::vector<double> magnitude;
  for (double v : difference) magnitude.push_back(std::fabs(v));
  const double limit = std::max(1e-6, percentile(magnitude, 0.99));
  report::Heatmap d{"synthetic − real", h, w, difference, -limit, limit, true, "Δ ln|F|"};
  fig1.panels = {a, b, d};
  save_figure(fig1, args.out / "mean_log_spectra");

  // Fig. 6 style: 1-D profiles.
  const auto real_profile = spectral::mean_azimuthal_profile(real.images, run.threads);
  const auto synth_profile = spectral::mean_azimuthal_profile(synthetic.images, run.threads);
  report::LinePlot profiles;
  profiles.title = "1-D power spectrum (Durall et al.)";
  profiles.x_label = "spatial frequency (radius)";
  profiles.y_label = "normalised power";
  std::vector<double> radius(real_profile.size());
  for (std::size_t i = 0; i < radius.size(); ++i) radius[i] = static_cast<double>(i + 1);
  profiles.series.push_back({"real", radius, real_profile, report::Rgb{1.0, 0.5, 0.05}, false});
  profiles.series.push_back({"synthetic", radius, synth_profile, report::Rgb{0.12, 0.47, 0.71}, false});
  nlohmann::json summary;
  const auto gap_before = spectral::spectral_gap(real_profile, synth_profile, args.ratio);
  summary["spectral_gap"]["synthetic"] = {{"high_band", gap_before.high_band}, {"all_radii", gap_before.all_radii}};
  if (calibrated) {
    const auto cal_profile = spectral::mean_azimuthal_profile(calibrated->images, run.threads);
    profiles.series.push_back({"calibrated", radius, cal_profile, report::Rgb{0.17, 0.63, 0.17}, true});
    const auto gap_after = spectral::spectral_gap(real_profile, cal_profile, args.ratio);
    summary["spectral_gap"]["calibrated"] = {{"high_band", gap_after.high_band}, {"all_radii", gap_after.all_radii}};
  }
  report::Figure fig6;
  fig6.panels = {profiles};
  fig6.panel_width = 520;
  fig6.panel_height = 360;
  save_figure(fig6, args.out / "spectral_profiles");
  summary["ratio"] = args.ratio;
  summary["definition"] = "mean |mean profile(real) - mean profile(set)| over radii >= ratio * R_max (high_band) "
                          "and over all radii; profiles per Durall et al., min-max normalised per image";
  summary["counts"] = {{"real", real.images.size()}, {"synthetic", synthetic.images.size()},
                       {"calibrated", calibrated ? calibrated->images.size() : 0}};
  summary["real_profile"] = real_profile;
  summary["synthetic_profile"] = synth_profile;
  write_json_atomic(args.out / "spectra.json", summary);
  std::cout << fmt::format("spectral gap real↔synthetic: {:.4f} (high band), {:.4f} (all radii)\n", gap_before.high_band,
                           gap_before.all_radii);
  if (calibrated)
    std::cout << fmt::format("spectral gap real↔calibrated: {:.4f} (high band), {:.4f} (all radii)\n",
                             summary["spectral_gap"]["calibrated"]["high_band"].get<double>(),
                             summary["spectral_gap"]["calibrated"]["all_radii"].get<double>());
  std::cout << fmt::format("wrote {0}/mean_log_spectra.{{png,svg}}, {0}/spectral_profiles.{{png,svg}}, {0}/spectra.json\n",
                           args.out.string());
  return 0;
}

spectral::RetrievalResult cached_retrieval(const std::vector<Image>& queries, const std::vector<Image>& references,
                                           const spectral::RetrievalOptions& options, const RunContext& run,
                                           const std::vector<int>& query_labels, const std::vector<int>& reference_labels) {
  ArtifactKey key{"retrieval", spectral::retrieval_fingerprint(queries, references, options, query_labels, reference_labels),
                  fmt::format("k={};window={};pool={};loo={}", options.k, spectral::to_string(options.window),
                              spectral::to_string(options.pool), options.leave_one_out),
                  "1"};
  std::unique_ptr<ArtifactCache> own;
  ArtifactCache* cache = run.cache;
  if (cache == nullptr) {
    own = std::make_unique<ArtifactCache>(run.cache_dir);
    cache = own.get();
  }
  std::optional<spectral::RetrievalResult> computed;
  const fs::path path = cache->get_or_build(key, [&](const fs::path& tmp) {
    const auto t0 = std::chrono::steady_clock::now();
    computed = spectral::top_k_ssim(queries, references, options, query_labels, reference_labels);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("retrieval: top-{} SSIM of {} queries against {} references in {:.1f}s ({:.0f} pairs/s)",
                 computed->k, queries.size(), references.size(), seconds,
                 static_cast<double>(queries.size()) * references.size() / std::max(seconds, 1e-9));
    h5::File file(tmp, "w");
    const hsize_t m = static_cast<hsize_t>(computed->queries), k = static_cast<hsize_t>(computed->k);
    h5::write_array<std::int32_t>(file, "indices", computed->indices, {m, k});
    h5::write_array<double>(file, "scores", computed->scores, {m, k});
  });
  if (computed) return *computed;
  h5::File file(path, "r");
  spectral::RetrievalResult result;
  std::vector<hsize_t> dims;
  result.indices = h5::read_array<std::int32_t>(file, "indices", &dims);
  result.scores = h5::read_array<double>(file, "scores");
  result.queries = static_cast<int>(dims.at(0));
  result.k = static_cast<int>(dims.at(1));
  spdlog::info("retrieval: top-{} neighbours of {} queries read from the cache", result.k, result.queries);
  return result;
}

namespace {

nlohmann::json quality_summary(const std::vector<Image>& reference, const std::vector<Image>& test) {
  double psnr = 0, ssim = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    psnr += metrics::psnr(reference[i], test[i]);
    ssim += spectral::ssim(reference[i], test[i]);
  }
  const double n = static_cast<double>(std::max<std::size_t>(1, reference.size()));
  return {{"psnr_mean", psnr / n}, {"ssim_mean", ssim / n}};
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
  const config::Schema full = frerec_schema(true);
  config::Schema schema;
  for (const char* key : {"shr", "dae", "dae_val_images"}) {
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
  const FreRecSettings settings = frerec_settings_from(config::Params(settings_node, ""), parse_stage(args.stage));
  const shr::ShrOptions& options = settings.shr;

  const auto t0 = std::chrono::steady_clock::now();
  const ImageFolder synthetic = read_image_folder(args.synthetic, "--synthetic");
  const int channels = synthetic.images.front().channels;
  const ImageFolder real = read_image_folder(args.real, "--real", channels);
  require_same_shapes(real, "--real", synthetic, "--synthetic",
                      "calibrate works at one size (resize the folders to one size first, e.g. with `frerec "
                      "datasets export` or your generator's output size)");
  const std::vector<std::string> outputs = image_folder_output_names(synthetic.names);
  require_safe_output(args, outputs);
  // The manifest first: it marks the output names as ours should this run be interrupted.
  nlohmann::json manifest = nlohmann::json::array();
  for (std::size_t i = 0; i < outputs.size(); ++i)
    manifest.push_back({{"input", synthetic.names[i]}, {"output", outputs[i]}, {"bit_depth", synthetic.bit_depths[i]}});
  write_json_atomic(args.out / "manifest.json", manifest);
  spdlog::info("calibrate: {} synthetic and {} real images of {}x{}x{}, stage {}", synthetic.images.size(),
               real.images.size(), channels, real.images.front().height, real.images.front().width, args.stage);
  nlohmann::json timings;

  fs::path checkpoint;
  if (settings.stage != FreRecStage::kShr) {
    const auto t = std::chrono::steady_clock::now();
    if (!args.checkpoint.empty() && fs::exists(args.checkpoint)) {
      checkpoint = args.checkpoint;
      spdlog::info("calibrate: using the auto-encoder {}", checkpoint.string());
    } else {
      checkpoint = trained_dae(real.images, settings, run);
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
    const auto history = restoration::dae_history(checkpoint);
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
  const std::vector<Image> output = calibrate(synthetic.images, real.images, settings, checkpoint, false, 0, run);
  timings["calibration_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();

  const auto written = write_image_folder(args.out, synthetic, output);
  const auto gap_before = spectral::spectral_gap(real.images, synthetic.images, run.threads, options.ratio);
  const auto gap_after = spectral::spectral_gap(real.images, output, run.threads, options.ratio);
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
      {"output_vs_input", quality_summary(synthetic.images, output)},
      {"dae_learning_curve", curve},
      {"timings", timings},
      {"environment", environment_json(run.threads, run.device)}};
  write_json_atomic(args.out / "calibration.json", summary);
  std::string md = fmt::format("# FreRec calibration ({})\n\n", args.stage);
  md += fmt::format("- synthetic: `{}` ({} images)\n- real reference: `{}` ({} images)\n- SHR: `{}`\n{}\n",
                    args.synthetic.string(), written.size(), args.real.string(), real.images.size(), options.canonical(),
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

int datasets_export_command(const std::string& name, const fs::path& out, const std::vector<std::string>& overrides,
                            const RunContext& run) {
  if (out.empty()) throw ConfigError("datasets export: --out is required");
  YAML::Node node(YAML::NodeType::Map);
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) throw ConfigError("datasets export: '" + o + "' must look like key=value (e.g. image_size=128)");
    config::set_by_path(node, o.substr(0, eq), YAML::Load(o.substr(eq + 1)));
  }
  const config::Params section = datasets::data_section_for(name, node);
  const auto summary = datasets::export_dataset(section, out, run);
  std::cout << fmt::format("exported {} images of '{}' to {} (manifest: {})\n", summary.images, name, out.string(),
                           summary.manifest.string());
  return 0;
}

}  // namespace frerec::experiments
