// The HDF5 image cache (an ArtifactCache artifact of kind "images", one file per sampled set).
//
// File layout (readable with h5py):
//   /images   uint8 or uint16 [N, C, H, W], chunked one image per chunk, unlimited N
//             (attribute bit_depth = 8 | 16; value = round(v · (2^bits − 1)))
//   /ids      fixed-length strings [N]      record ids, in set order (sorted by id)
//   /labels   int32 [N]                     0 / 1
//   /skipped  fixed-length strings [K]      "path: reason" of corrupt images left out
// Key: kind "images", inputs = DatasetSource::fingerprint(records) (paths + sizes + mtimes,
// or generator parameters), params = source name, set name, channels, size, interpolation.
// Reads open the file and take one HDF5 hyperslab per range (or per row for a batch), so
// memory stays bounded. All HDF5 access goes through framework/cache/hdf5_io.h, which states
// why concurrent use from several threads is safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "datasets/dataset.h"
#include "framework/cache/artifact_cache.h"

namespace frerec::datasets {

class ImageCacheFile {
 public:
  explicit ImageCacheFile(std::filesystem::path path);  // RunError if unreadable
  ~ImageCacheFile();
  ImageCacheFile(const ImageCacheFile&) = delete;
  ImageCacheFile& operator=(const ImageCacheFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::size_t size() const { return ids_.size(); }
  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  int bit_depth() const { return bit_depth_; }
  const std::vector<std::string>& ids() const { return ids_; }
  const std::vector<int>& labels() const { return labels_; }
  const std::vector<std::string>& skipped() const { return skipped_; }

  std::vector<Image> read_range(std::size_t begin, std::size_t end) const;
  std::vector<Image> read_rows(const std::vector<std::size_t>& indices) const;

 private:
  std::vector<Image> read_spans(const std::vector<std::pair<std::size_t, std::size_t>>& spans) const;
  std::filesystem::path path_;
  int channels_ = 0, height_ = 0, width_ = 0, bit_depth_ = 8;
  std::vector<std::string> ids_;
  std::vector<int> labels_;
  std::vector<std::string> skipped_;
};

struct CacheBuildStats {
  bool built = false;        // false: served from an existing artifact
  std::size_t decoded = 0;
  std::size_t skipped = 0;
  double seconds = 0;
};

// Writes the HDF5 file for `records` at `path` (decoding with `threads` workers in order).
// Corrupt images: skipped and listed, or RunError when `strict`.
void build_image_file(const std::filesystem::path& path, const DatasetSource& source, const std::vector<Record>& records,
                      const DecodeOptions& options, bool strict, int threads, CacheBuildStats& stats);

// get_or_build through `cache`, then opens the file.
std::shared_ptr<const ImageCacheFile> cached_image_file(ArtifactCache& cache, const DatasetSource& source,
                                                        const std::string& set_name,
                                                        const std::vector<Record>& records,
                                                        const DecodeOptions& options, bool strict, int threads,
                                                        CacheBuildStats& stats);

}  // namespace frerec::datasets
