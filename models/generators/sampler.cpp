#include "models/generators/sampler.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <mutex>

#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/io/safetensors.h"
#include "framework/io/state_dict.h"
#include "models/generators/generator_io.h"

namespace frerec::generators {
namespace fs = std::filesystem;

std::string GeneratorInfo::describe() const {
  return fmt::format("{}, {}x{}x{}, {} classes, {} steps", task, image_size, image_size, channels, num_classes, steps);
}

GeneratorInfo read_generator_info(const fs::path& path) {
  GeneratorInfo info;
  info.path = path;
  const std::string what = "generator: '" + path.string() + "'";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw RunError(what + " does not exist (train one with `frerec generator train CONFIG`)");
  info.metadata = io::read_safetensors_metadata(path);
  const auto format = info.metadata.find("format");
  if (format == info.metadata.end() || format->second != kGeneratorFormat)
    throw RunError(what + " is not a FreRec generator file (format '" +
                   (format == info.metadata.end() ? std::string("none") : format->second) + "', expected '" +
                   kGeneratorFormat + "'); make one with `frerec generator train`");
  std::map<std::string, std::string> arch;
  for (const auto& [key, value] : info.metadata)
    if (key.rfind("arch.", 0) == 0) arch[key.substr(5)] = value;
  const GanArchitecture architecture = GanArchitecture::from_map(arch, what);
  info.image_size = architecture.image_size;
  info.channels = architecture.channels;
  info.num_classes = architecture.num_classes;
  info.task = info.metadata.count("task") ? info.metadata.at("task") : "";
  if (info.metadata.count("steps")) info.steps = std::stol(info.metadata.at("steps"));
  info.sha256 = sha256_file(path.string());
  return info;
}

fs::path builtin_generator_dir() {
  if (const char* env = std::getenv("FREREC_GENERATORS"); env != nullptr && *env != '\0') return fs::path(env);
  return fs::path(FREREC_SOURCE_DIR) / "models" / "generators" / "checkpoints";
}

fs::path resolve_generator_checkpoint(const std::string& checkpoint, const std::string& task, const std::string& key) {
  std::string builtin_task;
  if (checkpoint == "builtin") builtin_task = task;
  else if (checkpoint.rfind("builtin:", 0) == 0) builtin_task = checkpoint.substr(8);
  else return fs::path(checkpoint);
  if (builtin_task.empty())
    throw ConfigError("generator: " + key + "=builtin needs the task (data.name) to pick the shipped generator; "
                      "name it as builtin:<task> or give a file");
  const fs::path dir = builtin_generator_dir();
  const fs::path file = dir / (builtin_task + ".safetensors");
  std::error_code ec;
  if (fs::is_regular_file(file, ec)) return file;
  std::vector<std::string> available;
  if (fs::is_directory(dir, ec))
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".safetensors") available.push_back(entry.path().stem().string());
  std::sort(available.begin(), available.end());
  throw ConfigError(fmt::format(
      "generator: {}={}: no built-in generator for task '{}' (looked for {}; built-in: {}; the FREREC_GENERATORS "
      "environment variable overrides the folder); give a file made by `frerec generator train`",
      key, checkpoint, builtin_task, file.string(), available.empty() ? "none" : fmt::format("{}", fmt::join(available, ", "))));
}

// ---------------------------------------------------------------- file I/O (LibTorch side)
void save_generator(const fs::path& path, const Generator& generator, std::map<std::string, std::string> metadata) {
  metadata["format"] = kGeneratorFormat;
  metadata["architecture"] = "fastgan_lite";
  for (const auto& [key, value] : generator->architecture().to_map()) metadata["arch." + key] = value;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  io::write_safetensors(path, io::state_dict(*generator), metadata);
}

Generator load_generator(const fs::path& path, GeneratorInfo* info_out) {
  GeneratorInfo info = read_generator_info(path);
  std::map<std::string, std::string> arch;
  for (const auto& [key, value] : info.metadata)
    if (key.rfind("arch.", 0) == 0) arch[key.substr(5)] = value;
  Generator generator(GanArchitecture::from_map(arch, "generator: '" + path.string() + "'"));
  io::load_state(*generator, io::read_safetensors(path), /*strict=*/true, "generator: '" + path.string() + "'");
  generator->eval();
  if (info_out) *info_out = std::move(info);
  return generator;
}

// ---------------------------------------------------------------- sampler
struct GeneratorSampler::State {
  GeneratorInfo info;
  mutable Generator generator{nullptr};
  int block = kDefaultSampleBlock;
  struct Cached {
    std::uint64_t seed;
    int label;
    long block_index;
    std::vector<Image> images;
  };
  mutable std::mutex mutex;
  mutable std::deque<Cached> cache;  // most recent first
  mutable long blocks_generated = 0;
  static constexpr std::size_t kCachedBlocks = 4;

  const std::vector<Image>& block_images(std::uint64_t seed, int label, long block_index) const {
    for (auto it = cache.begin(); it != cache.end(); ++it)
      if (it->seed == seed && it->label == label && it->block_index == block_index) {
        if (it != cache.begin()) {
          Cached moved = std::move(*it);
          cache.erase(it);
          cache.push_front(std::move(moved));
        }
        return cache.front().images;
      }
    std::vector<int64_t> indices(static_cast<std::size_t>(block));
    for (int k = 0; k < block; ++k) indices[static_cast<std::size_t>(k)] = static_cast<int64_t>(block_index) * block + k;
    at::Tensor output;
    {
      at::NoGradGuard no_grad;
      const Latents latents = latents_for(*generator, seed, label, indices);
      const at::Tensor labels = at::full({block}, label, at::kLong);
      output = generator->forward(latents.z, labels, latents.noise);
      output = ((output + 1.0) * 0.5).clamp(0.0, 1.0).contiguous();
    }
    ++blocks_generated;
    Cached entry{seed, label, block_index, {}};
    const int c = static_cast<int>(output.size(1)), s = static_cast<int>(output.size(2));
    const float* data = output.data_ptr<float>();
    const std::size_t per = static_cast<std::size_t>(c) * s * s;
    for (int k = 0; k < block; ++k) {
      Image image(c, s, s);
      std::copy(data + k * per, data + (k + 1) * per, image.data.begin());
      entry.images.push_back(std::move(image));
    }
    cache.push_front(std::move(entry));
    if (cache.size() > kCachedBlocks) cache.pop_back();
    return cache.front().images;
  }
};

GeneratorSampler::GeneratorSampler(const fs::path& checkpoint, int block) : state_(std::make_unique<State>()) {
  if (block < 1 || block > 4096)
    throw ConfigError("generator: sampling block (batch) " + std::to_string(block) + " must be in [1, 4096]");
  state_->generator = load_generator(checkpoint, &state_->info);
  state_->block = block;
}

GeneratorSampler::~GeneratorSampler() = default;

const GeneratorInfo& GeneratorSampler::info() const { return state_->info; }
int GeneratorSampler::block() const { return state_->block; }

long GeneratorSampler::blocks_generated() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->blocks_generated;
}

std::vector<Image> GeneratorSampler::generate(std::uint64_t seed, int label, const std::vector<long>& indices) const {
  const GeneratorInfo& info = state_->info;
  if (label < 0 || label >= info.num_classes)
    throw RunError(fmt::format("generator: class {} is outside the {} classes of '{}'", label, info.num_classes,
                               info.path.string()));
  std::vector<Image> out;
  out.reserve(indices.size());
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (long index : indices) {
    if (index < 0) throw RunError("generator: image index " + std::to_string(index) + " must be >= 0");
    const long block_index = index / state_->block;
    out.push_back(state_->block_images(seed, label, block_index)[static_cast<std::size_t>(index % state_->block)]);
  }
  return out;
}

}  // namespace frerec::generators
