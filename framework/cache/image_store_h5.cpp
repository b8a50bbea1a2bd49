#include "framework/cache/image_store_h5.h"

#include <fmt/format.h>

#include "framework/cache/hdf5_io.h"
#include "framework/core/error.h"

namespace frerec {

struct H5ImageStore::Handles {
  explicit Handles(const std::filesystem::path& path) : file(path, "r"), images(file, "images") {}
  h5::File file;
  h5::Dataset images;
};

H5ImageStore::H5ImageStore(std::filesystem::path path) : path_(std::move(path)) {
  handles_ = std::make_unique<Handles>(path_);
  const auto dims = handles_->images.dims();
  if (dims.size() != 4)
    throw RunError(fmt::format("image store: '{}' holds images of rank {}, not [N,C,H,W]; delete it to rebuild",
                               path_.string(), dims.size()));
  size_ = static_cast<std::size_t>(dims[0]);
  channels_ = static_cast<int>(dims[1]);
  height_ = static_cast<int>(dims[2]);
  width_ = static_cast<int>(dims[3]);
}

H5ImageStore::~H5ImageStore() = default;

std::string H5ImageStore::precomputed_digest() const {
  return h5::read_attribute(handles_->file, "content_digest");  // "" when absent
}

std::vector<Image> H5ImageStore::read_range(std::size_t begin, std::size_t end) const {
  if (begin > end || end > size_)
    throw InternalError(fmt::format("image store: rows [{}, {}) of {} in '{}'", begin, end, size_, path_.string()));
  std::vector<Image> out;
  out.reserve(end - begin);
  const std::size_t per = image_floats();
  std::vector<float> flat((end - begin) * per);
  if (end > begin) handles_->images.read_rows<float>(begin, end - begin, flat.data());
  for (std::size_t i = 0; i < end - begin; ++i) {
    Image im(channels_, height_, width_);
    std::copy(flat.begin() + static_cast<long>(i * per), flat.begin() + static_cast<long>((i + 1) * per), im.data.begin());
    out.push_back(std::move(im));
  }
  return out;
}

std::vector<Image> H5ImageStore::read_rows(const std::vector<std::size_t>& rows) const {
  std::vector<Image> out;
  out.reserve(rows.size());
  for (std::size_t r : rows) {
    if (r >= size_) throw InternalError(fmt::format("image store: row {} of {} in '{}'", r, size_, path_.string()));
    Image im(channels_, height_, width_);
    handles_->images.read_rows<float>(r, 1, im.data.data());
    out.push_back(std::move(im));
  }
  return out;
}

struct H5ImageWriter::Handles {
  Handles(const std::filesystem::path& path, const std::vector<hsize_t>& row)
      : file(path, "w"), images(h5::Dataset::create_extendible<float>(file, "images", row)) {}
  h5::File file;
  h5::Dataset images;
};

H5ImageWriter::H5ImageWriter(const std::filesystem::path& path, int channels, int height, int width)
    : channels_(channels), height_(height), width_(width) {
  handles_ = std::make_unique<Handles>(
      path, std::vector<hsize_t>{static_cast<hsize_t>(channels), static_cast<hsize_t>(height), static_cast<hsize_t>(width)});
}

H5ImageWriter::~H5ImageWriter() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; an unclosed file is rebuilt by its owner
  }
}

void H5ImageWriter::append(const std::vector<Image>& images) {
  if (!handles_) throw InternalError("image store: append after close");
  std::vector<float> flat;
  flat.reserve(images.size() * static_cast<std::size_t>(channels_) * height_ * width_);
  for (const auto& im : images) {
    if (im.channels != channels_ || im.height != height_ || im.width != width_)
      throw InternalError(fmt::format("image store: appending a {}x{}x{} image to a {}x{}x{} set", im.channels, im.height,
                                      im.width, channels_, height_, width_));
    flat.insert(flat.end(), im.data.begin(), im.data.end());
    digest_.add(im);
  }
  if (!images.empty()) handles_->images.append_rows<float>(flat.data(), images.size());
  written_ += images.size();
}

void H5ImageWriter::close() {
  if (!handles_) return;
  h5::write_attribute(handles_->file, "content_digest", digest_.digest());
  handles_.reset();
}

}  // namespace frerec
