#include "experiments/folder_metrics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>

#include "framework/core/error.h"
#include "framework/io/csv.h"
#include "framework/io/image_folder.h"
#include "framework/io/image_io.h"
#include "framework/metrics/metrics.h"
#include "framework/report/figure.h"
#include "framework/report/table.h"
#include "framework/runner/record.h"
#include "framework/spectral/spectrum.h"
#include "framework/spectral/ssim.h"

namespace frerec::experiments {
namespace fs = std::filesystem;
using io::ImageFolder;
using io::read_image_folder;
using io::require_same_shapes;

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
  io::CsvTable csv{"", {"name", "psnr", "ssim"}, {}};
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
    csv.rows.push_back({name, fmt::format("{:.6f}", p), fmt::format("{:.6f}", s)});
  }
  const double n = static_cast<double>(pairs.size());
  nlohmann::json summary = {{"pairs", pairs.size()}, {"psnr_mean", psnr_sum / n}, {"ssim_mean", ssim_sum / n},
                            {"ssim_window", args.ssim}, {"images", per_image}};
  if (!args.csv.empty()) io::write_csv(args.csv, csv);
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

}  // namespace frerec::experiments
