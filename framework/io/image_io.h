// Image file I/O (shared/DESIGN.md §3: conversions to integers only at file I/O).
//
// read_image decodes a JPEG/PNG/BMP/TIFF file with OpenCV (8- or 16-bit; gray, RGB or RGBA)
// into a frerec::Image: float32 [C,H,W] in [0,1] (8-bit / 255, 16-bit / 65535), RGB order.
// Then, when asked, it converts to the task's channel count and resizes:
//   * gray → RGB replicates the plane; RGB → gray is 0.299 R + 0.587 G + 0.114 B (ITU-R
//     BT.601, OpenCV's and PIL's convention); an alpha channel is dropped (not composited).
//   * Interpolation::kAuto = area averaging when the image shrinks in both dimensions
//     (cv::INTER_AREA), bilinear otherwise. Resizing runs in float, so no extra rounding.
// write_png writes 8- or 16-bit PNG (round to nearest, values clipped to [0,1]) atomically.
// Every failure throws RunError naming the path and the reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::io {

enum class Interpolation { kAuto, kArea, kLinear, kCubic, kNearest };

// "auto", "area", "linear", "cubic", "nearest"; anything else throws ConfigError naming `key`.
Interpolation parse_interpolation(const std::string& name, const std::string& key = "interpolation");
const char* interpolation_name(Interpolation interpolation);
std::vector<std::string> interpolation_names();

// Files above this many pixels are not decoded at full size: an 8000²
// RGB JPEG costs about 2.8 GB and a 16000² grey PNG 7.4 GB on the way to a 224² image, and
// one such file among thousands must not take a run down. Above the limit a JPEG is decoded
// at 1/2, 1/4 or 1/8 scale in libjpeg's DCT domain (the smallest reduction that fits), any
// other format is refused with a RunError naming the file (so a loader skips it, or fails
// under strict). The size comes from the file header, before any pixel is decoded. Real
// scans are far below it (Kaggle DR fundus photos up to about 18 MP, MIMIC-CXR about 9 MP).
constexpr long long kDefaultMaxPixels = 50'000'000;

struct ReadOptions {
  int channels = 0;  // 0 keeps the file's (gray 1, colour 3); else 1 or 3
  int height = 0;    // 0 keeps the file's size; both or neither must be set
  int width = 0;
  Interpolation interpolation = Interpolation::kAuto;
  long long max_pixels = kDefaultMaxPixels;  // 0: no limit
};

struct DecodedImage {
  Image image;
  int bit_depth = 8;        // of the file: 8 or 16
  int file_channels = 0;    // of the file: 1, 3 or 4
  int reduced_by = 1;       // 2, 4 or 8 when a JPEG above max_pixels was decoded at reduced scale
};

// Width, height and (JPEG) component count read from a PNG, JPEG, BMP or TIFF header;
// nullopt when the format is not recognised or the header is cut short.
struct ImageHeader {
  long long width = 0;
  long long height = 0;
  int components = 0;  // JPEG only (1 grey, 3 colour); 0 elsewhere
  std::string format;  // "png", "jpeg", "bmp", "tiff"
};
std::optional<ImageHeader> peek_header(const std::vector<std::uint8_t>& bytes);

// Decodes a file; throws RunError "image: cannot read '<path>': <reason>".
DecodedImage read_image(const std::filesystem::path& path, const ReadOptions& options = {});
// Decodes an encoded buffer (`name` is used in messages only).
DecodedImage decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name,
                          const ReadOptions& options = {});

// Channel conversion 1 ↔ 3 as described above (3 → 3 and 1 → 1 copy).
Image convert_channels(const Image& image, int channels);
// Resize to height × width (no-op copy when the size already matches).
Image resize(const Image& image, int height, int width, Interpolation interpolation = Interpolation::kAuto);

// Writes an 8- or 16-bit PNG (gray for C = 1, RGB for C = 3) atomically.
void write_png(const std::filesystem::path& path, const Image& image, int bit_depth = 8);
// Encodes the same PNG bytes into memory.
std::vector<std::uint8_t> encode_png(const Image& image, int bit_depth = 8);

// Quantisation used by write_png and the image cache: round(clamp(v,0,1) · (2^bits − 1)).
std::uint8_t to_u8(float value);
std::uint16_t to_u16(float value);

bool is_image_file(const std::filesystem::path& path);  // .png .jpg .jpeg .bmp .tif .tiff (any case)
// The image files directly inside `folder` (or below it when `recursive`), sorted by path.
// Throws RunError when the folder does not exist.
std::vector<std::filesystem::path> list_images(const std::filesystem::path& folder, bool recursive = false);

}  // namespace frerec::io
