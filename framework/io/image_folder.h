// A folder of images as one unit, for the folder-level commands (`frerec calibrate`,
// `frerec spectra`, `frerec metrics image-quality`): read every image below a root, write
// processed copies under the same relative names and bit depths.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::io {

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

// Writes images[i] as outputs[first + i] (names from image_folder_output_names) with bit
// depth bit_depths[first + i] (16, else 8): a chunk of a streamed folder.
void write_images_as(const std::filesystem::path& out, const std::vector<std::string>& outputs,
                     const std::vector<int>& bit_depths, std::size_t first, const std::vector<Image>& images);

// Every image of `a` and of `b` has one shape (ConfigError naming the files otherwise);
// `fix` ends the message with what the user can do (e.g. spectra's --size).
void require_same_shapes(const ImageFolder& a, const std::string& name_a, const ImageFolder& b,
                         const std::string& name_b, const std::string& fix);

}  // namespace frerec::io
