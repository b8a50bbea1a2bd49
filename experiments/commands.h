// The folder-level tools the `frerec` program offers besides `run` and `report`, gathered
// for apps/ (which includes experiments/ and framework/ only; tools/check_layers.cmake):
//   calibrate           FreRec as a standalone tool (augmentations/frerec/calibrate.h)
//   spectra, metrics    spectra and image metrics over folders (experiments/folder_metrics.h)
//   generator train / sample   the demo GAN (experiments/generator_commands.h)
//   datasets export     a sampled task as PNG folders (datasets/export.h)
#pragma once

#include "augmentations/frerec/calibrate.h"
#include "datasets/export.h"
#include "experiments/folder_metrics.h"
#include "experiments/generator_commands.h"

namespace frerec::experiments {

using pipeline::calibrate_command;
using pipeline::CalibrateArgs;
using datasets::export_command;

}  // namespace frerec::experiments
