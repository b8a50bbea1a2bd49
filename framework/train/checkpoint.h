// One checkpoint format for every network we train: the classifier trainer
// (framework/train/trainer.h), RHM's auto-encoder (augmentations/frerec/rhm.h) and the demo
// GAN (models/generators/gan_trainer.h). A checkpoint is a torch pickle (Python's
// `torch.load(path)` reads it) of one dict:
//   format       "frerec-checkpoint/1"
//   kind         what wrote it ("classifier", "dae", "gan"); a reader asks for its kind
//   fingerprint  the hash of every option and input that changes the result; a trainer
//                resumes only from a checkpoint with its own fingerprint
//   meta         JSON text: epoch / step, the history so far, whatever else the trainer keeps
//   modules      {module name: {parameter or buffer name: tensor}} (CPU copies)
//   optimizers   {optimizer name: uint8 tensor holding the LibTorch optimizer archive}
//   rng          uint8 tensor: the default CPU generator's state at the time of writing
// Writes are atomic (a temporary file renamed over the target), so a killed process leaves
// the previous checkpoint or the new one, never a torn file.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/util/Optional.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace frerec::train {

inline constexpr const char* kCheckpointFormat = "frerec-checkpoint/1";

using TensorMap = std::map<std::string, at::Tensor>;

struct Checkpoint {
  std::string kind;
  std::string fingerprint;
  nlohmann::json meta = nlohmann::json::object();
  std::map<std::string, TensorMap> modules;
  std::map<std::string, at::Tensor> optimizers;  // uint8 archives
  at::Tensor rng;                                // uint8; undefined: none stored

  // Detached CPU copies of a module's parameters and buffers, by their dotted names.
  void add_module(const std::string& name, const torch::nn::Module& module);
  void add_optimizer(const std::string& name, const torch::optim::Optimizer& optimizer);
  // Stores the default CPU generator's state (restore_rng puts it back).
  void add_rng();

  const TensorMap& module(const std::string& name) const;  // RunError naming the file when absent
  // Loads the stored optimizer state; its tensors go to `device` (default: where they were).
  void load_optimizer(const std::string& name, torch::optim::Optimizer& optimizer,
                      c10::optional<c10::Device> device = c10::nullopt) const;
  void restore_rng() const;

  std::filesystem::path path;  // set by read_checkpoint, for messages
};

// Atomic write; RunError naming the file when it cannot be written.
void write_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

// Reads a checkpoint written by `kind`. RunError naming the file when it does not exist, is
// not a checkpoint of ours, or was written by another kind. `what` starts the messages
// ("trainer", "dae", "generator").
Checkpoint read_checkpoint(const std::filesystem::path& path, const std::string& kind, const std::string& what);

// As read_checkpoint, but nullopt (instead of an error) for a readable pickle that is not a
// checkpoint in this format, so a caller can fall back to an older format with one read.
// An empty `kind` accepts any kind.
std::optional<Checkpoint> read_checkpoint_if_ours(const std::filesystem::path& path, const std::string& kind,
                                                  const std::string& what);

// True when `path` holds a checkpoint in this format (any kind); false for other files.
bool is_checkpoint(const std::filesystem::path& path);

}  // namespace frerec::train
