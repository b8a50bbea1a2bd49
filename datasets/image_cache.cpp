#include "datasets/image_cache.h"

#include <hdf5.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "framework/cache/hdf5_io.h"
#include "framework/core/error.h"

namespace frerec::datasets {
namespace fs = std::filesystem;

static_assert(sizeof(hid_t) <= sizeof(long long), "hid_t must fit in long long");

std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  return mutex;
}

namespace {

// Closes an HDF5 handle on scope exit.
struct Handle {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~Handle() {
    if (id >= 0 && close) close(id);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  operator hid_t() const { return id; }
};

void check(bool ok, const fs::path& path, const std::string& what) {
  if (!ok) throw RunError("image cache: " + what + " failed for '" + path.string() + "'");
}

void write_strings(hid_t file, const char* name, const std::vector<std::string>& values, const fs::path& path) {
  std::size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size() + 1);
  std::vector<char> buffer(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) std::copy(values[i].begin(), values[i].end(), buffer.begin() + i * width);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, width);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  const hsize_t dims[1] = {values.size()};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle layout(h5::checksummed_layout({values.size()}, width), H5Pclose);
  Handle set(H5Dcreate2(file, name, type, space, H5P_DEFAULT, layout, H5P_DEFAULT), H5Dclose);
  check(set >= 0, path, std::string("creating /") + name);
  if (!values.empty()) check(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) >= 0, path, "writing strings");
}

std::vector<std::string> read_strings(hid_t file, const char* name, const fs::path& path) {
  Handle set(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  check(set >= 0, path, std::string("opening /") + name);
  Handle type(H5Dget_type(set), H5Tclose);
  const std::size_t width = H5Tget_size(type);
  Handle space(H5Dget_space(set), H5Sclose);
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  std::vector<std::string> out;
  if (dims[0] == 0) return out;
  Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memtype, width);
  std::vector<char> buffer(dims[0] * width, '\0');
  check(H5Dread(set, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) >= 0, path, "reading strings");
  for (hsize_t i = 0; i < dims[0]; ++i) {
    const char* s = buffer.data() + i * width;
    out.emplace_back(s, strnlen(s, width));
  }
  return out;
}

struct ImageWriter {
  hid_t file;
  fs::path path;
  hid_t set = -1;
  int depth = 8;
  std::size_t rows = 0;
  int c = 0, h = 0, w = 0;

  void create(int bit_depth, int channels, int height, int width) {
    depth = bit_depth;
    c = channels;
    h = height;
    w = width;
    const hsize_t dims[4] = {0, static_cast<hsize_t>(c), static_cast<hsize_t>(h), static_cast<hsize_t>(w)};
    const hsize_t maxdims[4] = {H5S_UNLIMITED, dims[1], dims[2], dims[3]};
    const hsize_t chunk[4] = {1, dims[1], dims[2], dims[3]};
    Handle space(H5Screate_simple(4, dims, maxdims), H5Sclose);
    Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(props, 4, chunk);
    H5Pset_fletcher32(props);  // a changed byte on disk fails the read
    set = H5Dcreate2(file, "images", depth == 16 ? H5T_STD_U16LE : H5T_STD_U8LE, space, H5P_DEFAULT, props, H5P_DEFAULT);
    check(set >= 0, path, "creating /images");
    Handle aspace(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attr(H5Acreate2(set, "bit_depth", H5T_STD_I32LE, aspace, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const int value = depth;
    H5Awrite(attr, H5T_NATIVE_INT, &value);
  }

  void append(const Image& image) {
    const std::size_t n = image.size();
    std::vector<std::uint16_t> wide;
    std::vector<std::uint8_t> narrow;
    if (depth == 16) {
      wide.resize(n);
      for (std::size_t i = 0; i < n; ++i) wide[i] = io::to_u16(image.data[i]);
    } else {
      narrow.resize(n);
      for (std::size_t i = 0; i < n; ++i) narrow[i] = io::to_u8(image.data[i]);
    }
    const hsize_t new_dims[4] = {rows + 1, static_cast<hsize_t>(c), static_cast<hsize_t>(h), static_cast<hsize_t>(w)};
    check(H5Dset_extent(set, new_dims) >= 0, path, "extending /images");
    Handle space(H5Dget_space(set), H5Sclose);
    const hsize_t start[4] = {rows, 0, 0, 0};
    const hsize_t count[4] = {1, new_dims[1], new_dims[2], new_dims[3]};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    Handle memspace(H5Screate_simple(4, count, nullptr), H5Sclose);
    const herr_t status =
        depth == 16 ? H5Dwrite(set, H5T_NATIVE_UINT16, memspace, space, H5P_DEFAULT, wide.data())
                    : H5Dwrite(set, H5T_NATIVE_UINT8, memspace, space, H5P_DEFAULT, narrow.data());
    check(status >= 0, path, "writing an image");
    ++rows;
  }

  ~ImageWriter() {
    if (set >= 0) H5Dclose(set);
  }
};

}  // namespace

void build_image_file(const fs::path& path, const DatasetSource& source, const std::vector<Record>& records,
                      const DecodeOptions& options, bool strict, int threads, CacheBuildStats& stats) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> ids, skipped;
  std::vector<int> labels;
  const std::size_t block = 64;
  const int workers = std::max(1, threads);
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  check(file >= 0, path, "creating the file");
  ImageWriter writer{file, path};
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
      if (writer.set < 0) writer.create(decoded[i - b].bit_depth == 16 ? 16 : 8, options.channels, options.size, options.size);
      writer.append(image);
      ids.push_back(record.id);
      labels.push_back(record.label);
      ++stats.decoded;
    }
  }
  if (writer.set < 0) writer.create(8, options.channels, options.size, options.size);
  write_strings(file, "ids", ids, path);
  write_strings(file, "skipped", skipped, path);
  {
    const hsize_t dims[1] = {labels.size()};
    Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    Handle layout(h5::checksummed_layout({labels.size()}, sizeof(std::int32_t)), H5Pclose);
    Handle set(H5Dcreate2(file, "labels", H5T_STD_I32LE, space, H5P_DEFAULT, layout, H5P_DEFAULT), H5Dclose);
    check(set >= 0, path, "creating /labels");
    if (!labels.empty()) H5Dwrite(set, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
  }
  stats.skipped += skipped.size();
  stats.built = true;
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

ImageCacheFile::ImageCacheFile(fs::path path) : path_(std::move(path)) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  Handle file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file < 0) throw RunError("image cache: cannot open '" + path_.string() + "'; delete it to rebuild");
  Handle set(H5Dopen2(file, "images", H5P_DEFAULT), H5Dclose);
  if (set < 0) throw RunError("image cache: '" + path_.string() + "' has no /images; delete it to rebuild");
  Handle space(H5Dget_space(set), H5Sclose);
  hsize_t dims[4] = {0, 0, 0, 0};
  check(H5Sget_simple_extent_ndims(space) == 4, path_, "reading the /images shape");
  H5Sget_simple_extent_dims(space, dims, nullptr);
  channels_ = static_cast<int>(dims[1]);
  height_ = static_cast<int>(dims[2]);
  width_ = static_cast<int>(dims[3]);
  Handle type(H5Dget_type(set), H5Tclose);
  bit_depth_ = H5Tget_size(type) == 2 ? 16 : 8;
  ids_ = read_strings(file, "ids", path_);
  skipped_ = read_strings(file, "skipped", path_);
  labels_.assign(ids_.size(), 0);
  Handle labels(H5Dopen2(file, "labels", H5P_DEFAULT), H5Dclose);
  check(labels >= 0, path_, "opening /labels");
  if (!labels_.empty())
    check(H5Dread(labels, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels_.data()) >= 0, path_, "reading /labels");
  check(dims[0] == ids_.size(), path_, "matching /images and /ids lengths");
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
    std::lock_guard<std::mutex> lock(hdf5_mutex());
    // Opened per call: an artifact may be replaced (rebuilt, renamed) between reads, and a
    // handle held open would share HDF5's file state with the cache's own validity checks.
    Handle file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    check(file >= 0, path_, "opening");
    Handle set(H5Dopen2(file, "images", H5P_DEFAULT), H5Dclose);
    check(set >= 0, path_, "opening /images");
    Handle space(H5Dget_space(set), H5Sclose);
    std::size_t offset = 0;
    for (const auto& [begin, end] : spans) {
      const std::size_t n = end - begin;
      if (n == 0) continue;
      const hsize_t start[4] = {begin, 0, 0, 0};
      const hsize_t count[4] = {n, static_cast<hsize_t>(channels_), static_cast<hsize_t>(height_),
                                static_cast<hsize_t>(width_)};
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
      Handle memspace(H5Screate_simple(4, count, nullptr), H5Sclose);
      const herr_t status =
          bit_depth_ == 16 ? H5Dread(set, H5T_NATIVE_UINT16, memspace, space, H5P_DEFAULT, wide.data() + offset * per)
                           : H5Dread(set, H5T_NATIVE_UINT8, memspace, space, H5P_DEFAULT, narrow.data() + offset * per);
      check(status >= 0, path_, "reading images");
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
