// Folder-level tools behind `frerec metrics image-quality`, `frerec spectra` and
// `frerec calibrate`: read image folders, run the spectral toolkit / SHR / RHM, write
// images under the same names and bit depth, tables, figures and JSON summaries.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "framework/core/context.h"
#include "framework/core/image.h"
#include "framework/spectral/retrieval.h"

namespace frerec::experiments {

// A folder of images: relative names (sorted), images and their file bit depths.
struct ImageFolder {
  std::filesystem::path root;
  std::vector<std::string> names;  // relative to root, '/'-separated
  std::vector<Image> images;
  std::vector<int> bit_depths;
};
// Reads every image below `root` (recursively) with `channels` (0 = as stored) and, if
// size > 0, resized to size×size. Errors name the folder and the first unreadable files.
ImageFolder read_image_folder(const std::filesystem::path& root, const std::string& what, int channels = 0,
                              int size = 0);
// The relative output names of write_image_folder, one per input name: the same name for
// PNG files, else .png in place of the extension (calibrated pixels should not be
// re-compressed lossily). When that name is taken (a.png beside a.tif) the old extension
// stays in the name, a__tif.png, then a__tif__2.png, ...: PNG inputs always keep their
// names and the result depends only on the input names (docs/decisions.md).
std::vector<std::string> image_folder_output_names(const std::vector<std::string>& names);
// Writes images under those names, with the same bit depths; returns the names.
std::vector<std::string> write_image_folder(const std::filesystem::path& out, const ImageFolder& like,
                                            const std::vector<Image>& images);

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

struct CalibrateArgs {
  std::filesystem::path real, synthetic, out, config, checkpoint;
  std::string stage = "full";  // shr | rhm | full
  std::vector<std::string> overrides;
};
int calibrate_command(const CalibrateArgs& args, RunContext& run);

// `frerec datasets export NAME --out DIR [key=value ...]`: the sampled task as PNG folders
// + manifest.csv (overrides are keys of the data section, e.g. image_size=128).
int datasets_export_command(const std::string& name, const std::filesystem::path& out,
                            const std::vector<std::string>& overrides, const RunContext& run);

// Top-K SSIM retrieval through the artifact cache (kind "retrieval").
spectral::RetrievalResult cached_retrieval(const std::vector<Image>& queries, const std::vector<Image>& references,
                                           const spectral::RetrievalOptions& options, const RunContext& run,
                                           const std::vector<int>& query_labels = {},
                                           const std::vector<int>& reference_labels = {});

}  // namespace frerec::experiments
