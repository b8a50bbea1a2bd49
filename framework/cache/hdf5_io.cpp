#include "framework/cache/hdf5_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "framework/core/error.h"

namespace frerec::h5 {

File::File(const std::filesystem::path& path, const std::string& mode) : path_(path) {
  if (mode == "r")
    id_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  else if (mode == "a")
    id_ = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  else if (mode == "w")
    id_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  else
    throw InternalError("h5: unknown mode '" + mode + "'");
  if (id_ < 0) throw RunError(fmt::format("h5: cannot open '{}' (mode {})", path.string(), mode));
}

File::~File() {
  if (id_ >= 0) H5Fclose(id_);
}

template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t native_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t native_type<std::int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t native_type<std::uint8_t>() { return H5T_NATIVE_UINT8; }
template <> hid_t native_type<std::uint16_t>() { return H5T_NATIVE_UINT16; }

template <typename T>
void write_array(const File& file, const std::string& name, const std::vector<T>& data,
                 const std::vector<hsize_t>& dims) {
  const hsize_t count = std::accumulate(dims.begin(), dims.end(), hsize_t{1}, std::multiplies<hsize_t>());
  FREREC_ASSERT(count == data.size(), fmt::format("h5: dataset '{}' has {} values for {} cells", name, data.size(), count));
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t layout = checksummed_layout(dims, sizeof(T));
  const hid_t dataset = H5Dcreate2(file.id(), name.c_str(), native_type<T>(), space, H5P_DEFAULT, layout, H5P_DEFAULT);
  H5Pclose(layout);
  herr_t status = -1;
  if (dataset >= 0) {
    status = count == 0 ? 0 : H5Dwrite(dataset, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    H5Dclose(dataset);
  }
  H5Sclose(space);
  if (status < 0) throw RunError(fmt::format("h5: cannot write dataset '{}' to '{}'", name, file.path().string()));
}

template <typename T>
std::vector<T> read_array(const File& file, const std::string& name, std::vector<hsize_t>* dims) {
  const hid_t dataset = H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT);
  if (dataset < 0) throw RunError(fmt::format("h5: '{}' has no dataset '{}'", file.path().string(), name));
  const hid_t space = H5Dget_space(dataset);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> shape(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space, shape.data(), nullptr);
  const hsize_t count = std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<hsize_t>());
  std::vector<T> data(count);
  const herr_t status = count == 0 ? 0 : H5Dread(dataset, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
  H5Sclose(space);
  H5Dclose(dataset);
  if (status < 0) throw RunError(fmt::format("h5: cannot read dataset '{}' from '{}'", name, file.path().string()));
  if (dims) *dims = shape;
  return data;
}

#define FREREC_H5_INSTANTIATE(T)                                                                      \
  template void write_array<T>(const File&, const std::string&, const std::vector<T>&, const std::vector<hsize_t>&); \
  template std::vector<T> read_array<T>(const File&, const std::string&, std::vector<hsize_t>*);
FREREC_H5_INSTANTIATE(float)
FREREC_H5_INSTANTIATE(double)
FREREC_H5_INSTANTIATE(std::int64_t)
FREREC_H5_INSTANTIATE(std::int32_t)
FREREC_H5_INSTANTIATE(std::uint8_t)
FREREC_H5_INSTANTIATE(std::uint16_t)
#undef FREREC_H5_INSTANTIATE

void write_strings(const File& file, const std::string& name, const std::vector<std::string>& values) {
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  const hsize_t dims[1] = {values.size()};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hid_t dataset = H5Dcreate2(file.id(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t status = -1;
  if (dataset >= 0) {
    status = values.empty() ? 0 : H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data());
    H5Dclose(dataset);
  }
  H5Tclose(type);
  H5Sclose(space);
  if (status < 0) throw RunError(fmt::format("h5: cannot write strings '{}' to '{}'", name, file.path().string()));
}

std::vector<std::string> read_strings(const File& file, const std::string& name) {
  const hid_t dataset = H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT);
  if (dataset < 0) throw RunError(fmt::format("h5: '{}' has no dataset '{}'", file.path().string(), name));
  const hid_t space = H5Dget_space(dataset);
  hsize_t count = 0;
  H5Sget_simple_extent_dims(space, &count, nullptr);
  std::vector<char*> pointers(count, nullptr);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  const hid_t stored = H5Dget_type(dataset);
  H5Tset_cset(type, H5Tget_cset(stored));  // HDF5 does not convert between ASCII and UTF-8
  H5Tclose(stored);
  const herr_t status = count == 0 ? 0 : H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data());
  std::vector<std::string> values;
  if (status >= 0) {
    for (char* p : pointers) values.emplace_back(p ? p : "");
    if (count > 0) H5Dvlen_reclaim(type, space, H5P_DEFAULT, pointers.data());
  }
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(dataset);
  if (status < 0) throw RunError(fmt::format("h5: cannot read strings '{}' from '{}'", name, file.path().string()));
  return values;
}

void write_attribute(const File& file, const std::string& name, const std::string& value) {
  if (H5Aexists(file.id(), name.c_str()) > 0) H5Adelete(file.id(), name.c_str());
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(file.id(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = value.c_str();
  const herr_t status = attribute >= 0 ? H5Awrite(attribute, type, &text) : -1;
  if (attribute >= 0) H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
  if (status < 0) throw RunError("h5: cannot write attribute '" + name + "'");
}

std::string read_attribute(const File& file, const std::string& name) {
  if (H5Aexists(file.id(), name.c_str()) <= 0) return "";
  const hid_t attribute = H5Aopen(file.id(), name.c_str(), H5P_DEFAULT);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  const hid_t stored = H5Aget_type(attribute);
  H5Tset_cset(type, H5Tget_cset(stored));
  H5Tclose(stored);
  char* text = nullptr;
  std::string value;
  if (H5Aread(attribute, type, &text) >= 0 && text) {
    value = text;
    H5free_memory(text);
  }
  H5Tclose(type);
  H5Aclose(attribute);
  return value;
}

bool has_dataset(const File& file, const std::string& name) {
  return H5Lexists(file.id(), name.c_str(), H5P_DEFAULT) > 0;
}

hid_t checksummed_layout(const std::vector<hsize_t>& dims, std::size_t element_bytes) {
  const hid_t props = H5Pcreate(H5P_DATASET_CREATE);
  if (dims.empty() || std::find(dims.begin(), dims.end(), hsize_t{0}) != dims.end()) return props;
  const hsize_t row = std::accumulate(dims.begin() + 1, dims.end(), hsize_t{element_bytes}, std::multiplies<hsize_t>());
  std::vector<hsize_t> chunk = dims;
  chunk[0] = std::clamp<hsize_t>((hsize_t{1} << 20) / std::max<hsize_t>(row, 1), 1, dims[0]);
  H5Pset_chunk(props, static_cast<int>(chunk.size()), chunk.data());
  H5Pset_fletcher32(props);
  return props;
}

namespace {

struct VerifyState {
  std::string failure;
};

herr_t verify_object(hid_t group, const char* name, const H5O_info_t* info, void* data) {
  auto* state = static_cast<VerifyState*>(data);
  if (info->type != H5O_TYPE_DATASET || std::string(name) == ".") return 0;
  const hid_t set = H5Dopen2(group, name, H5P_DEFAULT);
  if (set < 0) {
    state->failure = fmt::format("cannot open /{}", name);
    return 1;
  }
  const hid_t type = H5Dget_type(set);
  const hid_t space = H5Dget_space(set);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  const bool variable = H5Tis_variable_str(type) > 0 || H5Tget_class(type) == H5T_VLEN;
  const bool empty = std::find(dims.begin(), dims.end(), hsize_t{0}) != dims.end();
  herr_t status = 0;
  if (!variable && !empty) {
    if (rank == 0) {
      std::vector<char> buffer(H5Tget_size(type));
      status = H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data());
    } else {
      // Slabs of whole rows along the first dimension, about 64 MiB each.
      const hsize_t row = std::accumulate(dims.begin() + 1, dims.end(), hsize_t{H5Tget_size(type)},
                                          std::multiplies<hsize_t>());
      const hsize_t rows = std::clamp<hsize_t>((hsize_t{64} << 20) / std::max<hsize_t>(row, 1), 1, dims[0]);
      std::vector<char> buffer(rows * row);
      for (hsize_t begin = 0; begin < dims[0] && status >= 0; begin += rows) {
        std::vector<hsize_t> start(dims.size(), 0), count = dims;
        start[0] = begin;
        count[0] = std::min(rows, dims[0] - begin);
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
        const hid_t memory = H5Screate_simple(rank, count.data(), nullptr);
        status = H5Dread(set, type, memory, space, H5P_DEFAULT, buffer.data());
        H5Sclose(memory);
      }
    }
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(set);
  if (status < 0) {
    state->failure = fmt::format("checksum mismatch or unreadable data in /{}", name);
    return 1;
  }
  return 0;
}

}  // namespace

std::string verify_checksums(const std::filesystem::path& path) {
  const QuietErrors quiet;
  VerifyState state;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    state.failure = "cannot be opened as HDF5";
  } else {
    if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, verify_object, &state, H5O_INFO_BASIC) < 0 && state.failure.empty())
      state.failure = "its objects cannot be listed";
    H5Fclose(file);
  }
  return state.failure;
}

}  // namespace frerec::h5
