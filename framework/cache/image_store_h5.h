// Image sets on disk for streaming (framework/core/image_store.h): float32 [N,C,H,W] in the
// dataset `images` of an HDF5 file, one image per chunk (Fletcher-32 checksummed when
// written by H5ImageWriter), read by hyperslab. Pixels are stored bit-exactly, so a set
// read back equals the set written. The `calibrated` artifacts of the FreRec pipeline use
// this layout (files written by earlier versions with one contiguous `images` array are
// read the same way).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framework/core/image_store.h"

namespace frerec {

class H5ImageStore final : public ImageStore {
 public:
  // RunError naming the file when it cannot be opened or has no 4-D `images` dataset.
  explicit H5ImageStore(std::filesystem::path path);
  ~H5ImageStore() override;
  std::size_t size() const override { return size_; }
  int channels() const override { return channels_; }
  int height() const override { return height_; }
  int width() const override { return width_; }
  std::vector<Image> read_range(std::size_t begin, std::size_t end) const override;
  std::vector<Image> read_rows(const std::vector<std::size_t>& rows) const override;
  const std::filesystem::path& path() const { return path_; }

 protected:
  std::string precomputed_digest() const override;  // the `content_digest` attribute, if any

 private:
  struct Handles;
  std::filesystem::path path_;
  std::unique_ptr<Handles> handles_;
  std::size_t size_ = 0;
  int channels_ = 0, height_ = 0, width_ = 0;
};

// Appends images of one shape to a new file (created, truncating, at `path`). The shape is
// fixed by the constructor; append() throws InternalError for another one.
class H5ImageWriter {
 public:
  H5ImageWriter(const std::filesystem::path& path, int channels, int height, int width);
  ~H5ImageWriter();
  void append(const std::vector<Image>& images);
  std::size_t size() const { return written_; }
  // Closes the file (also done by the destructor) after storing the content digest
  // (ImageStore::content_digest) as the file attribute `content_digest`.
  void close();

 private:
  struct Handles;
  std::unique_ptr<Handles> handles_;
  ImageDigest digest_;
  int channels_, height_, width_;
  std::size_t written_ = 0;
};

}  // namespace frerec
