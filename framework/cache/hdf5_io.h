// Small typed helpers over the HDF5 C API for artifacts: whole arrays and string lists.
// Builders of large streaming datasets (the image cache) use the HDF5 API directly.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace frerec::h5 {

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

}  // namespace frerec::h5
