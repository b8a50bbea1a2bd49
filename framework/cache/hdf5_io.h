// Small typed helpers over the HDF5 C API for artifacts: whole arrays and string lists.
// Builders of large streaming datasets (the image cache) use the HDF5 API directly.
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
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &old_function_, &old_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, old_function_, old_data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t old_function_ = nullptr;
  void* old_data_ = nullptr;
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
