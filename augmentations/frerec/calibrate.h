// `frerec calibrate`: FreRec as a standalone tool. Applies a stage (shr | rhm | full) to a
// folder of any generator's synthetic images, with a folder of real training images as the
// SHR reference set and the auto-encoder's training data; writes the calibrated images under
// the same names (PNG, same bit depth), manifest.json, calibration.md and the auto-encoder's
// learning curve. Never writes into, above or over its inputs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "augmentations/frerec/pipeline.h"
#include "framework/config/schema.h"
#include "framework/core/context.h"

namespace frerec::pipeline {

struct CalibrateArgs {
  std::filesystem::path real, synthetic, out, config, checkpoint;
  std::string stage = "full";  // shr | rhm | full
  std::vector<std::string> overrides;
};
int calibrate_command(const CalibrateArgs& args, RunContext& run);

// The settings calibrate uses: the `shr`, `dae` and `dae_val_images` keys of `root` (a
// mapping, e.g. {shr: {k: 8}}) validated and completed with defaults (ConfigError naming
// the key), applied to the synthetic images only. Shared with the Python module (python/).
FreRecSettings calibrate_settings(const YAML::Node& root, const config::Provenance& provenance, FreRecStage stage);

}  // namespace frerec::pipeline
