#include "models/restoration/weights.h"

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>

#include "framework/cache/hdf5_io.h"
#include "framework/core/error.h"

namespace frerec::restoration {

namespace {

// The HDF5 format signature (HDF5 File Format Specification, "Format Signature"): at byte 0
// for files written without a user block, which is how h5py and our writers make them.
constexpr char kHdf5Signature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};

bool starts_with_hdf5_signature(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  return in.read(head, 8) && std::memcmp(head, kHdf5Signature, 8) == 0;
}

template <typename T>
at::Tensor read_tensor(const h5::File& file, const std::string& name, at::ScalarType type) {
  std::vector<hsize_t> dims;
  std::vector<T> values = h5::read_array<T>(file, name, &dims);
  return at::from_blob(values.data(), std::vector<int64_t>(dims.begin(), dims.end()), type).clone();
}

}  // namespace

io::StateDict read_weights_h5(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw RunError("restoration: weight file " + path.string() + " does not exist");
  const auto file = [&] {
    const h5::QuietErrors quiet;
    try {
      return std::make_unique<h5::File>(path, "r");
    } catch (const RunError&) {
      throw RunError("restoration: cannot open " + path.string() +
                     " as HDF5 (convert the checkpoint with tools/export_restormer_weights.py)");
    }
  }();
  io::StateDict state;
  for (const auto& name : h5::root_datasets(*file)) {
    const bool integer = h5::Dataset(*file, name).is_integer();
    state.emplace_back(name, integer ? read_tensor<std::int64_t>(*file, name, at::kLong)
                                     : read_tensor<float>(*file, name, at::kFloat));
  }
  if (state.empty()) throw RunError("restoration: " + path.string() + " holds no weight datasets");
  return state;
}

io::StateDict read_weights(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw RunError("restoration: weight file " + path.string() + " does not exist");
  return starts_with_hdf5_signature(path) ? read_weights_h5(path) : io::read_safetensors(path);
}

}  // namespace frerec::restoration
