#include "framework/io/image_folder.h"

#include <fmt/format.h>

#include <set>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/image_io.h"

namespace frerec::io {
namespace fs = std::filesystem;

ImageFolder read_image_folder(const fs::path& root, const std::string& what, int channels, int size) {
  if (!fs::is_directory(root)) throw ConfigError(fmt::format("{}: '{}' is not a folder", what, root.string()));
  ImageFolder folder;
  folder.root = root;
  const auto paths = list_images(root, true);
  if (paths.empty()) throw RunError(fmt::format("{}: no images (.png .jpg .jpeg .bmp .tif) in '{}'", what, root.string()));
  ReadOptions options;
  options.channels = channels;
  options.height = options.width = size;
  std::vector<std::string> problems;
  for (const auto& path : paths) {
    try {
      DecodedImage decoded = read_image(path, options);
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

void write_images_as(const fs::path& out, const std::vector<std::string>& outputs, const std::vector<int>& bit_depths,
                     std::size_t first, const std::vector<Image>& images) {
  FREREC_ASSERT(first + images.size() <= outputs.size() && outputs.size() == bit_depths.size(),
                "write_images_as: one name and bit depth per image");
  for (std::size_t i = 0; i < images.size(); ++i) {
    const fs::path path = out / outputs[first + i];
    fs::create_directories(path.parent_path());
    const fs::path tmp = temporary_path_for(path);
    write_png(tmp, images[i], bit_depths[first + i] == 16 ? 16 : 8);
    commit_atomic(tmp, path);
  }
}

std::vector<std::string> write_image_folder(const fs::path& out, const ImageFolder& like, const std::vector<Image>& images) {
  FREREC_ASSERT(images.size() == like.names.size(), "write_image_folder: one image per name");
  const std::vector<std::string> written = image_folder_output_names(like.names);
  write_images_as(out, written, like.bit_depths, 0, images);
  return written;
}

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

}  // namespace frerec::io
