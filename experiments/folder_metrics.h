// `frerec metrics image-quality` and `frerec spectra`: the spectral toolkit and the image
// metrics over folders of images (tables, figures and JSON summaries).
#pragma once

#include <filesystem>
#include <string>

#include "framework/core/context.h"

namespace frerec::experiments {

struct ImageQualityArgs {
  std::filesystem::path reference, test;
  std::string ssim = "gaussian";
  bool json = false;
  std::filesystem::path csv;  // per-image CSV for folders ("" = none)
};
int image_quality_command(const ImageQualityArgs& args, const RunContext& run);

struct SpectraArgs {
  std::filesystem::path real, synthetic, calibrated, out;
  int size = 0;        // resize everything to size×size (0: all must share one size)
  double ratio = 0.5;  // high band of the spectral gap
};
int spectra_command(const SpectraArgs& args, const RunContext& run);

}  // namespace frerec::experiments
