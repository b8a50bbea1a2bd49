#include "augmentations/frerec/calibrate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <set>

#include "augmentations/frerec/pipeline.h"
#include "augmentations/frerec/rhm.h"
#include "augmentations/frerec/shr.h"
#include "framework/config/interpolation.h"
#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
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
using io::read_image_folder;
using io::require_same_shapes;
using io::write_image_folder;

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

FreRecSettings calibrate_settings(const YAML::Node& root, const config::Provenance& provenance, FreRecStage stage) {
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

}  // namespace frerec::pipeline
