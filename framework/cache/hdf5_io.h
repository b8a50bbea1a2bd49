// The project's one wrapper over the HDF5 C API (no other file outside tests includes
// <hdf5.h>): files, whole arrays, string lists, attributes, extendible chunked datasets
// appended row by row, hyperslab reads of row ranges, and the checksum walk.
//
// Thread safety. HDF5 keeps global state (open-file list, error stacks, free lists); a
// library built without --enable-threadsafe must never be entered by two threads at once.
// Debian 12's libhdf5 1.10.8 (libhdf5_serial) is built thread-safe: H5is_library_threadsafe
// reports 1 and the library serialises every API call behind its own global lock
// (support.hdfgroup.org, "Thread-safe HDF5"). The wrapper therefore relies on that lock
// and asks H5is_library_threadsafe once; only when it reports 0 does every wrapper call
// (including the closing of handles) take one process-wide recursive mutex instead.
// Either way callers need no lock of their own, and two threads may use two files (or the
// same file read-only) at the same time. HDF5 calls made outside this wrapper (tests) are
// covered only by the library's own lock.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace frerec::h5 {

// Silences HDF5's automatic error-stack printing for its lifetime (while probing files that
// may be truncated or corrupt).
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t old_function_ = nullptr;
  void* old_data_ = nullptr;
};

// True when the HDF5 library serialises its own calls (checked once).
bool library_is_threadsafe();
// "1.10.8".
std::string library_version();

// Any HDF5 identifier, closed by the matching H5?close on destruction.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle();
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// RAII file handle. mode: "r" read-only, "w" create/truncate, "a" read-write.
class File {
 public:
  File(const std::filesystem::path& path, const std::string& mode);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  hid_t id() const { return id_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  hid_t id_ = -1;
  std::filesystem::path path_;
};

template <typename T>
hid_t native_type();

template <typename T>
void write_array(const File& file, const std::string& name, const std::vector<T>& data,
                 const std::vector<hsize_t>& dims);
template <typename T>
std::vector<T> read_array(const File& file, const std::string& name, std::vector<hsize_t>* dims = nullptr);

void write_strings(const File& file, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> read_strings(const File& file, const std::string& name);
void write_attribute(const File& file, const std::string& name, const std::string& value);
std::string read_attribute(const File& file, const std::string& name);
bool has_dataset(const File& file, const std::string& name);
// Names of the datasets directly under the file root, in name order (groups and other
// objects are left out).
std::vector<std::string> root_datasets(const File& file);

// Fixed-width NUL-terminated strings (width = longest + 1), chunked and checksummed like
// write_array: unlike variable-length strings their bytes live in the chunks, so the
// Fletcher-32 filter covers them.
void write_fixed_strings(const File& file, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> read_fixed_strings(const File& file, const std::string& name);

// An open dataset: shape and type queries, hyperslab reads of rows along the first
// dimension, and (for extendible datasets) appends of rows. T: the element types of
// native_type (uint8, uint16, int32, int64, float, double).
class Dataset {
 public:
  Dataset(const File& file, const std::string& name);  // RunError naming file and dataset
  // An empty dataset [0, row_shape...] that grows without limit along the first
  // dimension, one row per chunk, Fletcher-32 checksummed, stored as T little-endian.
  template <typename T>
  static Dataset create_extendible(const File& file, const std::string& name, const std::vector<hsize_t>& row_shape);

  std::vector<hsize_t> dims() const;
  std::size_t element_bytes() const;  // of the stored type
  bool is_integer() const;            // stored type class is integer
  // Appends `rows` rows (rows × product(row_shape) values, row-major) at the end.
  template <typename T>
  void append_rows(const T* data, hsize_t rows);
  // Reads rows [begin, begin + rows) into `out`, converted to T.
  template <typename T>
  void read_rows(hsize_t begin, hsize_t rows, T* out) const;
  // A scalar int32 attribute on the dataset.
  void write_attribute(const std::string& name, std::int32_t value);

 private:
  Dataset(Handle handle, std::filesystem::path path, std::string name);
  [[noreturn]] void fail(const std::string& what) const;
  Handle handle_;
  std::filesystem::path path_;
  std::string name_;
};

// Dataset-creation properties for a checksummed dataset: HDF5's Fletcher-32 filter over
// chunks of about 1 MiB along the first dimension (the others whole). A read of a chunk
// whose bytes changed on disk then fails instead of returning them. Empty or scalar shapes
// get plain properties (no chunk to checksum). The caller closes the returned id.
// Variable-length strings and attributes cannot be filtered: their bytes live outside the
// chunks, so only numeric and fixed-width datasets are covered.
hid_t checksummed_layout(const std::vector<hsize_t>& dims, std::size_t element_bytes);

// Reads every dataset of the HDF5 file in full, so that HDF5 checks each chunk's
// checksum: "" when everything reads, else why not ("checksum mismatch or unreadable data
// in /images"). Datasets written without the filter (older artifacts) are read but cannot
// be checked.
std::string verify_checksums(const std::filesystem::path& path);

}  // namespace frerec::h5
