#include "framework/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <mutex>
#include <optional>
#include <sstream>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/state_dict.h"

namespace frerec::train {
namespace fs = std::filesystem;
namespace {

at::Tensor bytes_tensor(const std::string& data) {
  return at::from_blob(const_cast<char*>(data.data()), {static_cast<int64_t>(data.size())}, at::kByte).clone();
}

c10::impl::GenericDict string_any_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

c10::IValue load_pickle(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw RunError(what + ": checkpoint '" + path.string() + "' does not exist");
  const std::string bytes = read_file(path);
  try {
    return torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    throw RunError(what + ": checkpoint '" + path.string() + "' is unreadable (" + std::string(e.what()).substr(0, 200) +
                   "); delete it to start afresh");
  }
}

}  // namespace

void Checkpoint::add_module(const std::string& name, const torch::nn::Module& module) {
  TensorMap& state = modules[name];
  for (const auto& [key, tensor] : io::named_state(module)) state[key] = tensor.detach().to(at::kCPU).clone();
}

void Checkpoint::add_optimizer(const std::string& name, const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  optimizers[name] = bytes_tensor(bytes.str());
}

void Checkpoint::add_rng() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  rng = generator.get_state();
}

const TensorMap& Checkpoint::module(const std::string& name) const {
  const auto it = modules.find(name);
  if (it == modules.end())
    throw RunError("checkpoint '" + path.string() + "' has no module '" + name + "' (written by " + kind + ")");
  return it->second;
}

void Checkpoint::load_optimizer(const std::string& name, torch::optim::Optimizer& optimizer,
                                c10::optional<c10::Device> device) const {
  const auto it = optimizers.find(name);
  if (it == optimizers.end())
    throw RunError("checkpoint '" + path.string() + "' has no optimizer '" + name + "' (written by " + kind + ")");
  const at::Tensor bytes = it->second.contiguous();
  torch::serialize::InputArchive archive;
  archive.load_from(static_cast<const char*>(bytes.data_ptr()), static_cast<std::size_t>(bytes.numel()), device);
  optimizer.load(archive);
}

void Checkpoint::restore_rng() const {
  if (!rng.defined()) return;
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(rng);
}

void write_checkpoint(const fs::path& path, const Checkpoint& checkpoint) {
  c10::impl::GenericDict dict = string_any_dict();
  dict.insert("format", std::string(kCheckpointFormat));
  dict.insert("kind", checkpoint.kind);
  dict.insert("fingerprint", checkpoint.fingerprint);
  dict.insert("meta", checkpoint.meta.dump());
  c10::impl::GenericDict modules = string_any_dict();
  for (const auto& [name, state] : checkpoint.modules) {
    c10::Dict<std::string, at::Tensor> tensors;
    for (const auto& [key, tensor] : state) tensors.insert(key, tensor);
    modules.insert(name, tensors);
  }
  dict.insert("modules", modules);
  c10::Dict<std::string, at::Tensor> optimizers;
  for (const auto& [name, bytes] : checkpoint.optimizers) optimizers.insert(name, bytes);
  dict.insert("optimizers", optimizers);
  if (checkpoint.rng.defined()) dict.insert("rng", checkpoint.rng);
  std::vector<char> pickled;
  try {
    pickled = torch::pickle_save(c10::IValue(dict));
  } catch (const c10::Error& e) {
    throw RunError("could not serialise checkpoint '" + path.string() + "': " + e.what_without_backtrace());
  }
  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  write_file_atomic(path, std::string(pickled.begin(), pickled.end()));
}

bool is_checkpoint(const fs::path& path) {
  try {
    return read_checkpoint_if_ours(path, "", "checkpoint").has_value();
  } catch (const RunError&) {
    return false;
  }
}

std::optional<Checkpoint> read_checkpoint_if_ours(const fs::path& path, const std::string& kind,
                                                  const std::string& what) {
  const c10::IValue value = load_pickle(path, what);
  auto fail = [&](const std::string& why) {
    return RunError(what + ": '" + path.string() + "' " + why + "; delete it to start afresh");
  };
  if (!value.isGenericDict()) return std::nullopt;
  const auto dict = value.toGenericDict();
  if (!dict.contains("format") || !dict.at("format").isString() || dict.at("format").toStringRef() != kCheckpointFormat)
    return std::nullopt;
  Checkpoint checkpoint;
  checkpoint.path = path;
  try {
    checkpoint.kind = dict.at("kind").toStringRef();
    if (!kind.empty() && checkpoint.kind != kind) throw fail("was written by the " + checkpoint.kind + " trainer, not the " + kind + " one");
    checkpoint.fingerprint = dict.at("fingerprint").toStringRef();
    checkpoint.meta = nlohmann::json::parse(dict.at("meta").toStringRef());
    for (const auto& module : dict.at("modules").toGenericDict()) {
      TensorMap& state = checkpoint.modules[module.key().toStringRef()];
      for (const auto& item : module.value().toGenericDict()) state[item.key().toStringRef()] = item.value().toTensor();
    }
    for (const auto& item : dict.at("optimizers").toGenericDict())
      checkpoint.optimizers[item.key().toStringRef()] = item.value().toTensor();
    if (dict.contains("rng")) checkpoint.rng = dict.at("rng").toTensor();
  } catch (const c10::Error& e) {
    throw fail(std::string("is damaged (") + e.what_without_backtrace() + ")");
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("has an unreadable meta record (") + e.what() + ")");
  }
  return checkpoint;
}

Checkpoint read_checkpoint(const fs::path& path, const std::string& kind, const std::string& what) {
  if (auto checkpoint = read_checkpoint_if_ours(path, kind, what)) return std::move(*checkpoint);
  throw RunError(what + ": '" + path.string() + "' is not a FreRec checkpoint (" + kCheckpointFormat +
                 "); delete it to start afresh");
}

}  // namespace frerec::train
