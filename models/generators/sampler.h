// Generator files and sampling from them (torch-free interface: the CLI and the `gan`
// dataset source include only this).
//
// A generator file is a safetensors file (format of framework/io/safetensors.h) holding
// the EMA generator's parameters and its standing BatchNorm statistics (float32), with
// string metadata:
//   format "frerec-gan-generator/1", architecture "fastgan_lite", arch.<key> for every
//   GanArchitecture key (image_size, channels, num_classes, z_dim, ...), task (data.name
//   of the training data), data_section (the resolved data section, YAML), data_fingerprint
//   (SHA-256 of the training images and labels), training_images, steps, seed, train_config
//   (the generator section, canonical JSON), command_line, created, frerec_version,
//   git_commit, class_names "negative,positive".
//
// Sampling. Image (seed, label, index) = G_ema(z, label, noise) mapped to [0,1], with
// z = latent_for(z_dim, seed, label, index) and the noise maps noise_for(…, seed, label,
// index) (gan.h: the portable datasets RNG). Images are
// generated in aligned blocks of `block` indices per class — indices [k·B, (k+1)·B) always
// go through the network together — so an image depends only on (checkpoint, seed, label,
// index, block) and never on which other images are asked for or on the thread count. The
// `gan` dataset source and `frerec generator sample` share the default block of 64, so their
// images are identical.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::generators {

inline constexpr const char* kGeneratorFormat = "frerec-gan-generator/1";
inline constexpr int kDefaultSampleBlock = 64;

struct GeneratorInfo {
  std::filesystem::path path;
  std::string sha256;        // of the file
  std::string task;          // data.name of the training data
  int image_size = 0;
  int channels = 0;
  int num_classes = 0;
  long steps = 0;
  std::map<std::string, std::string> metadata;  // everything in the file's __metadata__
  std::string describe() const;  // "demo_mri, 64x64x1, 2 classes, 3000 steps"
};

// Metadata of a generator file; RunError naming the file when it is missing, not a
// safetensors file, or not a FreRec generator.
GeneratorInfo read_generator_info(const std::filesystem::path& path);

// The folder of the shipped generators: $FREREC_GENERATORS when set, else the source tree's
// models/generators/checkpoints (compile-time FREREC_SOURCE_DIR).
std::filesystem::path builtin_generator_dir();
// `checkpoint` as written in a config or on the command line: "builtin" = the shipped
// generator of `task` (<builtin dir>/<task>.safetensors), "builtin:<task>" names the task,
// anything else is a path. ConfigError naming `key` when no built-in generator exists.
std::filesystem::path resolve_generator_checkpoint(const std::string& checkpoint, const std::string& task,
                                                   const std::string& key);

// Loads a generator file once and produces images; generate() is thread-safe (one mutex;
// the network itself uses LibTorch's intra-op threads). Keeps the last few blocks.
class GeneratorSampler {
 public:
  explicit GeneratorSampler(const std::filesystem::path& checkpoint, int block = kDefaultSampleBlock);
  ~GeneratorSampler();
  GeneratorSampler(const GeneratorSampler&) = delete;
  GeneratorSampler& operator=(const GeneratorSampler&) = delete;

  const GeneratorInfo& info() const;
  int block() const;
  // Images in [0,1] ([C,S,S]) of class `label` for `indices` (any order, repeats allowed).
  std::vector<Image> generate(std::uint64_t seed, int label, const std::vector<long>& indices) const;
  // Networks passes run so far (blocks generated; for tests and logs).
  long blocks_generated() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace frerec::generators
