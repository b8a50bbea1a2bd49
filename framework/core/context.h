// What every long-running piece of work receives from the program: threads, device,
// where the caches and results live. No LibTorch types here (keeps torch out of headers).
#pragma once

#include <filesystem>
#include <string>

namespace frerec {

class ArtifactCache;

struct RunContext {
  int threads = 1;               // LibTorch intra-op threads and FFTW threads
  std::string device = "cpu";    // "cpu" or "cuda" ("auto" is resolved before this is built)
  std::filesystem::path cache_dir = "cache";
  std::filesystem::path results_dir = "results";
  ArtifactCache* cache = nullptr;  // may be null in unit tests
  bool interactive = false;      // stderr is a terminal: draw progress bars
};

}  // namespace frerec
