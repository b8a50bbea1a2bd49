#include "models/restoration/weights.h"

#include <ATen/ATen.h>
#include <hdf5.h>

#include <sstream>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"

namespace frerec::restoration {

std::string WeightLoadReport::summary(std::size_t max_listed) const {
  std::ostringstream out;
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    out << "; " << keys.size() << " " << what << " (";
    for (std::size_t i = 0; i < keys.size() && i < max_listed; ++i) out << (i ? ", " : "") << keys[i];
    if (keys.size() > max_listed) out << ", ...";
    out << ")";
  };
  out << loaded.size() << " tensors loaded";
  list("shape mismatches", shape_mismatch);
  list("missing from the source", missing);
  list("unexpected in the source", unexpected);
  return out.str();
}

NamedTensors named_state(const torch::nn::Module& module) {
  NamedTensors state;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) state[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true)) state[item.key()] = item.value();
  return state;
}

WeightLoadReport load_named_state(torch::nn::Module& module, const NamedTensors& source, bool strict,
                                  const std::string& source_name) {
  WeightLoadReport report;
  NamedTensors target = named_state(module);
  for (const auto& [key, tensor] : target) {
    auto it = source.find(key);
    if (it == source.end()) {
      report.missing.push_back(key);
    } else if (!it->second.sizes().equals(tensor.sizes())) {
      report.shape_mismatch.push_back(key + ": source " + std::string(c10::str(it->second.sizes())) + " vs model " +
                                      std::string(c10::str(tensor.sizes())));
    } else {
      report.loaded.push_back(key);
    }
  }
  for (const auto& item : source)
    if (!target.count(item.first)) report.unexpected.push_back(item.first);
  if (strict && (!report.missing.empty() || !report.unexpected.empty() || !report.shape_mismatch.empty()))
    throw RunError("restoration: weights in " + source_name +
                   " do not fit this architecture (another model or other widths?): " + report.summary() +
                   "; use the checkpoint's own network config, or load non-strictly to take matching keys only");
  torch::NoGradGuard no_grad;
  for (const auto& key : report.loaded) {
    auto& dst = target.at(key);
    dst.copy_(source.at(key).to(dst.device(), dst.scalar_type()));
  }
  return report;
}

namespace {
struct H5Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~H5Handle() {
    if (id >= 0) close(id);
  }
};

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

NamedTensors read_weights_h5(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw RunError("restoration: weight file " + path.string() + " does not exist");
  H5Handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (file.id < 0)
    throw RunError("restoration: cannot open " + path.string() +
                   " as HDF5 (make it with tools/export_restormer_weights.py)");
  std::vector<std::string> names;
  H5Literate(file.id, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names);
  NamedTensors state;
  for (const auto& name : names) {
    H5Handle dataset{H5Dopen2(file.id, name.c_str(), H5P_DEFAULT), H5Dclose};
    if (dataset.id < 0) continue;  // a group or link: not a weight
    H5Handle space{H5Dget_space(dataset.id), H5Sclose};
    const int rank = H5Sget_simple_extent_ndims(space.id);
    std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
    if (rank > 0) H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
    std::vector<int64_t> shape(dims.begin(), dims.end());
    H5Handle type{H5Dget_type(dataset.id), H5Tclose};
    const bool integer = H5Tget_class(type.id) == H5T_INTEGER;
    at::Tensor tensor = at::empty(shape, integer ? at::kLong : at::kFloat);
    const herr_t status = H5Dread(dataset.id, integer ? H5T_NATIVE_LLONG : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                                  H5P_DEFAULT, tensor.data_ptr());
    if (status < 0) throw RunError("restoration: cannot read dataset '" + name + "' of " + path.string());
    state[name] = tensor;
  }
  if (state.empty()) throw RunError("restoration: " + path.string() + " holds no weight datasets");
  return state;
}

void write_weights_h5(const torch::nn::Module& module, const std::filesystem::path& path) {
  const auto temporary = temporary_path_for(path);
  {
    H5Handle file{H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    if (file.id < 0) throw RunError("restoration: cannot create " + temporary.string());
    for (const auto& [key, value] : named_state(module)) {
      const bool integer = !at::isFloatingType(value.scalar_type());
      at::Tensor data = value.detach().to(at::kCPU, integer ? at::kLong : at::kFloat).contiguous();
      std::vector<hsize_t> dims(data.sizes().begin(), data.sizes().end());
      H5Handle space{dims.empty() ? H5Screate(H5S_SCALAR)
                                  : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                     H5Sclose};
      const hid_t type = integer ? H5T_NATIVE_LLONG : H5T_NATIVE_FLOAT;
      H5Handle dataset{H5Dcreate2(file.id, key.c_str(), type, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       H5Dclose};
      if (dataset.id < 0 || H5Dwrite(dataset.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data_ptr()) < 0)
        throw RunError("restoration: cannot write dataset '" + key + "' to " + temporary.string());
    }
  }
  commit_atomic(temporary, path);
}

}  // namespace frerec::restoration
