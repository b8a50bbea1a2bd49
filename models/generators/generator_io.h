// Writing and loading generator files (format in sampler.h). LibTorch-facing part.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "models/generators/gan.h"
#include "models/generators/sampler.h"

namespace frerec::generators {

// Writes G's parameters and buffers (float32) with `metadata` plus format and arch.* keys,
// atomically.
void save_generator(const std::filesystem::path& path, const Generator& generator,
                    std::map<std::string, std::string> metadata);
// Reads the file, rebuilds the architecture from its metadata and loads the weights
// (eval mode). `info` receives the metadata.
Generator load_generator(const std::filesystem::path& path, GeneratorInfo* info = nullptr);

}  // namespace frerec::generators
