#include "datasets/image_cache.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "framework/cache/hdf5_io.h"
#include "framework/core/error.h"

namespace frerec::datasets {
namespace fs = std::filesystem;

namespace {

// /images, created at the first image (its bit depth decides the stored type) and grown one
// row per image.
struct ImageWriter {
  const h5::File& file;
  std::optional<h5::Dataset> set;
  int depth = 8;
  int c = 0, h = 0, w = 0;

  void create(int bit_depth, int channels, int height, int width) {
    depth = bit_depth;
    c = channels;
    h = height;
    w = width;
    const std::vector<hsize_t> row = {static_cast<hsize_t>(c), static_cast<hsize_t>(h), static_cast<hsize_t>(w)};
    set = depth == 16 ? h5::Dataset::create_extendible<std::uint16_t>(file, "images", row)
                      : h5::Dataset::create_extendible<std::uint8_t>(file, "images", row);
    set->write_attribute("bit_depth", depth);
  }

  void append(const Image& image) {
    const std::size_t n = image.size();
    if (depth == 16) {
      std::vector<std::uint16_t> wide(n);
      for (std::size_t i = 0; i < n; ++i) wide[i] = io::to_u16(image.data[i]);
      set->append_rows(wide.data(), 1);
    } else {
      std::vector<std::uint8_t> narrow(n);
      for (std::size_t i = 0; i < n; ++i) narrow[i] = io::to_u8(image.data[i]);
      set->append_rows(narrow.data(), 1);
    }
  }
};

}  // namespace

void build_image_file(const fs::path& path, const DatasetSource& source, const std::vector<Record>& records,
                      const DecodeOptions& options, bool strict, int threads, CacheBuildStats& stats) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> ids, skipped;
  std::vector<std::int32_t> labels;
  const std::size_t block = 64;
  const int workers = std::max(1, threads);
  const h5::File file(path, "w");
  ImageWriter writer{file, std::nullopt};
  for (std::size_t b = 0; b < records.size(); b += block) {
    const std::size_t e = std::min(records.size(), b + block);
    std::vector<io::DecodedImage> decoded(e - b);
    std::vector<std::string> errors(e - b);
    auto work = [&](int worker) {
      for (std::size_t i = b + worker; i < e; i += static_cast<std::size_t>(workers)) {
        try {
          decoded[i - b] = source.decode(records[i], options);
        } catch (const RunError& error) {
          errors[i - b] = error.what();
        }
      }
    };
    if (workers == 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < workers; ++t) pool.emplace_back(work, t);
      for (auto& t : pool) t.join();
    }
    for (std::size_t i = b; i < e; ++i) {
      const Record& record = records[i];
      if (!errors[i - b].empty()) {
        if (strict) throw RunError(source.name() + ": " + errors[i - b] + " (data.strict is true; fix or remove the file, or set strict: false to skip it)");
        skipped.push_back((record.path.empty() ? record.id : record.path.string()) + ": " + errors[i - b]);
        continue;
      }
      const Image& image = decoded[i - b].image;
      if (image.channels != options.channels || image.height != options.size || image.width != options.size)
        throw InternalError(source.name() + ": decoded '" + record.id + "' has shape " + std::to_string(image.channels) +
                            "x" + std::to_string(image.height) + "x" + std::to_string(image.width) + ", expected " +
                            std::to_string(options.channels) + "x" + std::to_string(options.size) + "x" +
                            std::to_string(options.size));
      if (!writer.set) writer.create(decoded[i - b].bit_depth == 16 ? 16 : 8, options.channels, options.size, options.size);
      writer.append(image);
      ids.push_back(record.id);
      labels.push_back(record.label);
      ++stats.decoded;
    }
  }
  if (!writer.set) writer.create(8, options.channels, options.size, options.size);
  h5::write_fixed_strings(file, "ids", ids);
  h5::write_fixed_strings(file, "skipped", skipped);
  h5::write_array<std::int32_t>(file, "labels", labels, {labels.size()});
  stats.skipped += skipped.size();
  stats.built = true;
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

ImageCacheFile::ImageCacheFile(fs::path path) : path_(std::move(path)) {
  const auto file = [&] {
    try {
      return std::make_unique<h5::File>(path_, "r");
    } catch (const RunError&) {
      throw RunError("image cache: cannot open '" + path_.string() + "'; delete it to rebuild");
    }
  }();
  if (!h5::has_dataset(*file, "images"))
    throw RunError("image cache: '" + path_.string() + "' has no /images; delete it to rebuild");
  const h5::Dataset images(*file, "images");
  const std::vector<hsize_t> dims = images.dims();
  if (dims.size() != 4) throw RunError("image cache: reading the /images shape failed for '" + path_.string() + "'");
  channels_ = static_cast<int>(dims[1]);
  height_ = static_cast<int>(dims[2]);
  width_ = static_cast<int>(dims[3]);
  bit_depth_ = images.element_bytes() == 2 ? 16 : 8;
  ids_ = h5::read_fixed_strings(*file, "ids");
  skipped_ = h5::read_fixed_strings(*file, "skipped");
  const std::vector<std::int32_t> labels = h5::read_array<std::int32_t>(*file, "labels");
  labels_.assign(labels.begin(), labels.end());
  if (dims[0] != ids_.size() || labels_.size() != ids_.size())
    throw RunError("image cache: matching /images, /ids and /labels lengths failed for '" + path_.string() + "'");
}

ImageCacheFile::~ImageCacheFile() = default;

std::vector<Image> ImageCacheFile::read_spans(const std::vector<std::pair<std::size_t, std::size_t>>& spans) const {
  std::size_t total = 0;
  for (const auto& [begin, end] : spans) {
    if (begin > end || end > size())
      throw RunError("image cache: range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is outside the " +
                     std::to_string(size()) + " images of '" + path_.string() + "'");
    total += end - begin;
  }
  std::vector<Image> images;
  if (total == 0) return images;
  const std::size_t per = static_cast<std::size_t>(channels_) * height_ * width_;
  std::vector<std::uint16_t> wide(bit_depth_ == 16 ? total * per : 0);
  std::vector<std::uint8_t> narrow(bit_depth_ == 16 ? 0 : total * per);
  {
    // Opened per call: an artifact may be replaced (rebuilt, renamed) between reads, and a
    // handle held open would share HDF5's file state with the cache's own validity checks.
    const h5::File file(path_, "r");
    const h5::Dataset set(file, "images");
    std::size_t offset = 0;
    for (const auto& [begin, end] : spans) {
      const std::size_t n = end - begin;
      if (n == 0) continue;
      if (bit_depth_ == 16)
        set.read_rows(begin, n, wide.data() + offset * per);
      else
        set.read_rows(begin, n, narrow.data() + offset * per);
      offset += n;
    }
  }
  const float scale = bit_depth_ == 16 ? 1.0f / 65535.0f : 1.0f / 255.0f;
  images.reserve(total);
  for (std::size_t k = 0; k < total; ++k) {
    Image image(channels_, height_, width_);
    for (std::size_t i = 0; i < per; ++i)
      image.data[i] = (bit_depth_ == 16 ? wide[k * per + i] : narrow[k * per + i]) * scale;
    images.push_back(std::move(image));
  }
  return images;
}

std::vector<Image> ImageCacheFile::read_range(std::size_t begin, std::size_t end) const {
  return read_spans({{begin, end}});
}

std::vector<Image> ImageCacheFile::read_rows(const std::vector<std::size_t>& indices) const {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  spans.reserve(indices.size());
  for (std::size_t index : indices) spans.emplace_back(index, index + 1);
  return read_spans(spans);
}

std::shared_ptr<const ImageCacheFile> cached_image_file(ArtifactCache& cache, const DatasetSource& source,
                                                        const std::string& set_name,
                                                        const std::vector<Record>& records,
                                                        const DecodeOptions& options, bool strict, int threads,
                                                        CacheBuildStats& stats) {
  ArtifactKey key;
  key.kind = "images";
  key.inputs = source.fingerprint(records);
  key.params = "source=" + source.name() + ";set=" + set_name + ";channels=" + std::to_string(options.channels) +
               ";size=" + std::to_string(options.size) +
               ";interpolation=" + io::interpolation_name(options.interpolation) +
               ";max_pixels=" + std::to_string(options.max_pixels);
  key.code_version = "2";  // 2: Fletcher-32 checksums on every dataset
  const fs::path path = cache.get_or_build(key, [&](const fs::path& tmp) {
    build_image_file(tmp, source, records, options, strict, threads, stats);
  });
  auto file = std::make_shared<const ImageCacheFile>(path);
  return file;
}

}  // namespace frerec::datasets
