// The FreRec pipeline (paper "The Frequency Recalibration Method"; shared/DESIGN.md §4):
// FreRec(x) = A*(SHR(x)), where A* is a denoising auto-encoder trained on real training
// images only, with input SHR(x) (leave-one-out retrieval) and target x (RHM).
//
//   * trained_dae(): trains A on a real set, or reads it from the artifact cache (kind
//     "dae": the checkpoint bytes in an HDF5 artifact keyed by the real images' pixels, the
//     SHR options and the DAE options). A killed training resumes from its work folder
//     cache/dae/<key>.work/.
//   * calibrate(): applies a stage to a set of images — shr (SHR only), rhm (A only, no SHR
//     at inference) or full (SHR then A) — cached as kind "calibrated" (float32 [N,C,H,W])
//     keyed by the images, the real reference set, the stage, SHR options and the
//     checkpoint's SHA-256.
//   * Methods (Table 2 / Table 3 rows, registered in the method registry):
//       gda_frerec          SHR then RHM with FESA (FreRec)
//       gda_shr             SHR only
//       gda_rhm             RHM with FESA, no SHR at inference
//       gda_rhm_restormer   RHM with plain Restormer blocks (fesa false), no SHR at inference
//       gda_shr_restormer   SHR then plain Restormer (an extra row beyond the paper)
//     Each calibrates the sets named in `apply_to` (default synthetic, real_train, real_val
//     and real_test: the paper recommends FreRec for "all training and testing samples,
//     synthetic and real"), then mixes real and synthetic like GDA. The DAEs
//     of all variants are trained the same way (SHR inputs); only the inference differs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "augmentations/frerec/shr.h"
#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/image.h"
#include "framework/core/image_store.h"

namespace frerec::pipeline {

enum class FreRecStage { kShr, kRhm, kFull };
FreRecStage parse_stage(const std::string& name);
const char* to_string(FreRecStage stage);

struct FreRecSettings {
  FreRecStage stage = FreRecStage::kFull;
  shr::ShrOptions shr;
  YAML::Node dae;  // validated rhm::dae_schema() mapping
  std::vector<std::string> apply_to = {"synthetic", "real_train", "real_val", "real_test"};
  int dae_val_images = 32;  // real images held out from DAE training for its validation
  // The auto-encoder trains (and validates) on the first N real images only (-1: all).
  // SHR's reference pool stays every real image. For paper-scale sets on few cores: the
  // leave-one-out retrieval of its inputs costs N × (all real) SSIM pairs.
  int dae_train_images = -1;
  // per_cell: the cell's seed is added to shr.seed and dae.seed, so the seeds of a Table 2 row
  // vary FreRec's own randomness (SHR's ε draws, the auto-encoder's initialisation, sampling)
  // as well as the classifier's; fixed: shr.seed and dae.seed as configured for every cell.
  bool per_cell_randomness = true;
};

// The settings a cell with seed `cell_seed` uses (per_cell: the seeds shifted by it).
FreRecSettings settings_for_cell(const FreRecSettings& settings, std::uint64_t cell_seed);

// Keys: shr (ShrOptions), dae (rhm::dae_schema, `network.fesa` default given),
// apply_to, dae_val_images, dae_train_images, randomness, synthetic_per_class.
config::Schema frerec_schema(bool fesa);
FreRecSettings frerec_settings_from(const config::Params& params, FreRecStage stage);

std::string images_fingerprint(const std::vector<Image>& images);
std::string images_fingerprint(const ImageStore& images);  // equal to the vector form's for the same images

// A local checkpoint file of the auto-encoder trained on `real` (see top). The store form
// streams: retrieval, SHR statistics and training batches read `real` chunk by chunk.
std::filesystem::path trained_dae(const std::vector<Image>& real, const FreRecSettings& settings, const RunContext& run);
std::filesystem::path trained_dae(const ImageStore& real, const FreRecSettings& settings, const RunContext& run);

// Calibrated copies of `images`. `real` is the SHR reference set (the real training
// images); `leave_one_out` when `images` is `real` itself. `checkpoint` is unused for the
// shr stage. `index_offset` separates the SHR noise draws of different sets.
std::vector<Image> calibrate(const std::vector<Image>& images, const std::vector<Image>& real,
                             const FreRecSettings& settings, const std::filesystem::path& checkpoint,
                             bool leave_one_out, std::uint64_t index_offset, const RunContext& run);

// Streaming calibrate (issue 18): the same artifact, built chunk by chunk (SHR of a chunk,
// then the auto-encoder on it, appended to the artifact), so memory stays bounded whatever
// the set sizes. Returns the artifact's path: float32 [N,C,H,W] `images`, readable with
// H5ImageStore (framework/cache/image_store_h5.h).
std::filesystem::path calibrate_to_store(const ImageStore& images, const ImageStore& real, const FreRecSettings& settings,
                                         const std::filesystem::path& checkpoint, bool leave_one_out,
                                         std::uint64_t index_offset, const RunContext& run);

// The settings of a registered FreRec method (gda_frerec, gda_shr, gda_rhm,
// gda_rhm_restormer, gda_shr_restormer) from its method sub-block; nullopt for other methods.
std::optional<FreRecSettings> frerec_method_settings(const std::string& method, const config::Params& params);

// The calibrated synthetic images exactly as the method computes them for training (same
// cached DAE and calibrated-image artifacts), e.g. for the figures.
std::vector<Image> calibrated_synthetic(const std::vector<Image>& synthetic, const std::vector<Image>& real,
                                        const FreRecSettings& settings, const RunContext& run);

void register_frerec_methods();

}  // namespace frerec::pipeline
