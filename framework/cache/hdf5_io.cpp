#include "framework/cache/hdf5_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <numeric>

#include "framework/core/error.h"

namespace frerec::h5 {

namespace {

std::recursive_mutex& fallback_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

// Held by every wrapper call; takes the wrapper's mutex only when the library does not
// serialise its calls itself (see the header). Recursive: wrapper calls nest (a Dataset
// closing its handles inside a locked call, the checksum walk's callback).
class ApiLock {
 public:
  ApiLock() : held_(!library_is_threadsafe()) {
    if (held_) fallback_mutex().lock();
  }
  ~ApiLock() {
    if (held_) fallback_mutex().unlock();
  }
  ApiLock(const ApiLock&) = delete;
  ApiLock& operator=(const ApiLock&) = delete;

 private:
  bool held_;
};

}  // namespace

bool library_is_threadsafe() {
  static const bool threadsafe = [] {
    hbool_t value = 0;
    return H5is_library_threadsafe(&value) >= 0 && value > 0;
  }();
  return threadsafe;
}

std::string library_version() {
  const ApiLock lock;
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return fmt::format("{}.{}.{}", major, minor, release);
}

QuietErrors::QuietErrors() {
  const ApiLock lock;
  H5Eget_auto2(H5E_DEFAULT, &old_function_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() {
  const ApiLock lock;
  H5Eset_auto2(H5E_DEFAULT, old_function_, old_data_);
}

Handle::~Handle() {
  if (id_ >= 0 && close_) {
    const ApiLock lock;
    close_(id_);
  }
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Handle old(std::move(*this));
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = -1;
  }
  return *this;
}

File::File(const std::filesystem::path& path, const std::string& mode) : path_(path) {
  const ApiLock lock;
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
  const ApiLock lock;
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
  const ApiLock lock;
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
  const ApiLock lock;
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
  const ApiLock lock;
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
  const ApiLock lock;
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
  const ApiLock lock;
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
  const ApiLock lock;
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
  const ApiLock lock;
  return H5Lexists(file.id(), name.c_str(), H5P_DEFAULT) > 0;
}

hid_t checksummed_layout(const std::vector<hsize_t>& dims, std::size_t element_bytes) {
  const ApiLock lock;
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
  const ApiLock lock;
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

namespace {

herr_t collect_dataset(hid_t group, const char* name, const H5L_info_t*, void* data) {
  H5O_info_t info;
  if (H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 && info.type == H5O_TYPE_DATASET)
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

// Little-endian standard types: what the file stores, independent of the writing machine.
template <typename T>
hid_t stored_type();
template <> hid_t stored_type<std::uint8_t>() { return H5T_STD_U8LE; }
template <> hid_t stored_type<std::uint16_t>() { return H5T_STD_U16LE; }
template <> hid_t stored_type<std::int32_t>() { return H5T_STD_I32LE; }
template <> hid_t stored_type<std::int64_t>() { return H5T_STD_I64LE; }
template <> hid_t stored_type<float>() { return H5T_IEEE_F32LE; }
template <> hid_t stored_type<double>() { return H5T_IEEE_F64LE; }

}  // namespace

std::vector<std::string> root_datasets(const File& file) {
  const ApiLock lock;
  std::vector<std::string> names;
  if (H5Literate(file.id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_dataset, &names) < 0)
    throw RunError(fmt::format("h5: cannot list the datasets of '{}'", file.path().string()));
  return names;
}

void write_fixed_strings(const File& file, const std::string& name, const std::vector<std::string>& values) {
  const ApiLock lock;
  std::size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size() + 1);
  std::vector<char> buffer(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) std::copy(values[i].begin(), values[i].end(), buffer.begin() + i * width);
  const Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.id(), width);
  H5Tset_strpad(type.id(), H5T_STR_NULLTERM);
  const hsize_t dims[1] = {values.size()};
  const Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  const Handle layout(checksummed_layout({values.size()}, width), H5Pclose);
  const Handle set(H5Dcreate2(file.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, layout.id(), H5P_DEFAULT),
                   H5Dclose);
  if (!set.valid() ||
      (!values.empty() && H5Dwrite(set.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0))
    throw RunError(fmt::format("h5: cannot write strings '{}' to '{}'", name, file.path().string()));
}

std::vector<std::string> read_fixed_strings(const File& file, const std::string& name) {
  const ApiLock lock;
  const Handle set(H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!set.valid()) throw RunError(fmt::format("h5: '{}' has no dataset '{}'", file.path().string(), name));
  const Handle stored(H5Dget_type(set.id()), H5Tclose);
  const std::size_t width = H5Tget_size(stored.id());
  const Handle space(H5Dget_space(set.id()), H5Sclose);
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.id(), dims, nullptr);
  std::vector<std::string> out;
  if (dims[0] == 0) return out;
  const Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memory.id(), width);
  std::vector<char> buffer(dims[0] * width, '\0');
  if (H5Dread(set.id(), memory.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0)
    throw RunError(fmt::format("h5: cannot read strings '{}' from '{}'", name, file.path().string()));
  for (hsize_t i = 0; i < dims[0]; ++i) {
    const char* s = buffer.data() + i * width;
    out.emplace_back(s, strnlen(s, width));
  }
  return out;
}

Dataset::Dataset(Handle handle, std::filesystem::path path, std::string name)
    : handle_(std::move(handle)), path_(std::move(path)), name_(std::move(name)) {}

Dataset::Dataset(const File& file, const std::string& name) : path_(file.path()), name_(name) {
  const ApiLock lock;
  handle_ = Handle(H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!handle_.valid()) throw RunError(fmt::format("h5: '{}' has no dataset '{}'", path_.string(), name));
}

void Dataset::fail(const std::string& what) const {
  throw RunError(fmt::format("h5: {} failed for dataset '{}' of '{}'", what, name_, path_.string()));
}

template <typename T>
Dataset Dataset::create_extendible(const File& file, const std::string& name, const std::vector<hsize_t>& row_shape) {
  const ApiLock lock;
  std::vector<hsize_t> dims = {0}, maxdims = {H5S_UNLIMITED}, chunk = {1};
  dims.insert(dims.end(), row_shape.begin(), row_shape.end());
  maxdims.insert(maxdims.end(), row_shape.begin(), row_shape.end());
  chunk.insert(chunk.end(), row_shape.begin(), row_shape.end());
  const Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), H5Sclose);
  const Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(props.id(), static_cast<int>(chunk.size()), chunk.data());
  H5Pset_fletcher32(props.id());  // a changed byte on disk fails the read
  Dataset set(Handle(H5Dcreate2(file.id(), name.c_str(), stored_type<T>(), space.id(), H5P_DEFAULT, props.id(),
                                H5P_DEFAULT),
                     H5Dclose),
              file.path(), name);
  if (!set.handle_.valid()) set.fail("creating");
  return set;
}

std::vector<hsize_t> Dataset::dims() const {
  const ApiLock lock;
  const Handle space(H5Dget_space(handle_.id()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) fail("reading the shape");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return dims;
}

std::size_t Dataset::element_bytes() const {
  const ApiLock lock;
  const Handle type(H5Dget_type(handle_.id()), H5Tclose);
  return H5Tget_size(type.id());
}

bool Dataset::is_integer() const {
  const ApiLock lock;
  const Handle type(H5Dget_type(handle_.id()), H5Tclose);
  return H5Tget_class(type.id()) == H5T_INTEGER;
}

template <typename T>
void Dataset::append_rows(const T* data, hsize_t rows) {
  const ApiLock lock;
  std::vector<hsize_t> extent = dims();
  FREREC_ASSERT(!extent.empty(), "h5: append_rows needs a dataset with rows");
  std::vector<hsize_t> start(extent.size(), 0), count = extent;
  start[0] = extent[0];
  count[0] = rows;
  extent[0] += rows;
  if (H5Dset_extent(handle_.id(), extent.data()) < 0) fail("extending");
  const Handle space(H5Dget_space(handle_.id()), H5Sclose);
  H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  const Handle memory(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
  if (H5Dwrite(handle_.id(), native_type<T>(), memory.id(), space.id(), H5P_DEFAULT, data) < 0) fail("writing rows");
}

template <typename T>
void Dataset::read_rows(hsize_t begin, hsize_t rows, T* out) const {
  const ApiLock lock;
  std::vector<hsize_t> count = dims();
  FREREC_ASSERT(!count.empty() && begin + rows <= count[0], "h5: read_rows outside the dataset");
  std::vector<hsize_t> start(count.size(), 0);
  start[0] = begin;
  count[0] = rows;
  const Handle space(H5Dget_space(handle_.id()), H5Sclose);
  H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  const Handle memory(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
  if (H5Dread(handle_.id(), native_type<T>(), memory.id(), space.id(), H5P_DEFAULT, out) < 0) fail("reading rows");
}

void Dataset::write_attribute(const std::string& name, std::int32_t value) {
  const ApiLock lock;
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle attribute(H5Acreate2(handle_.id(), name.c_str(), H5T_STD_I32LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose);
  if (!attribute.valid() || H5Awrite(attribute.id(), H5T_NATIVE_INT32, &value) < 0)
    fail("writing attribute '" + name + "'");
}

#define FREREC_H5_INSTANTIATE_DATASET(T)                                                                        \
  template Dataset Dataset::create_extendible<T>(const File&, const std::string&, const std::vector<hsize_t>&); \
  template void Dataset::append_rows<T>(const T*, hsize_t);                                                     \
  template void Dataset::read_rows<T>(hsize_t, hsize_t, T*) const;
FREREC_H5_INSTANTIATE_DATASET(float)
FREREC_H5_INSTANTIATE_DATASET(double)
FREREC_H5_INSTANTIATE_DATASET(std::int64_t)
FREREC_H5_INSTANTIATE_DATASET(std::int32_t)
FREREC_H5_INSTANTIATE_DATASET(std::uint8_t)
FREREC_H5_INSTANTIATE_DATASET(std::uint16_t)
#undef FREREC_H5_INSTANTIATE_DATASET

}  // namespace frerec::h5
