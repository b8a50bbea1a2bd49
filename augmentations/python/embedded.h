// Embedded CPython (pybind11 embed, Debian's libpython3.11) for augmentation methods written
// in Python (python_method.h). Torch-free and pybind11-free interface; the implementation
// (embedded.cpp) is the only translation unit of the library that includes Python.
//
// Interpreter. Started lazily by the first use (a config that selects `method.name: python`),
// never in other runs; once per process (std::call_once), without Python's signal handlers
// (Ctrl-C and SIGTERM keep the program's behaviour), and never finalised (LibTorch and the
// loader threads outlive any point where finalising would be safe). Right after start the
// GIL is released for the rest of the program; every call below acquires it only around
// its own Python work, so loader threads running a Python method overlap with the training
// step (which never touches Python).
//
// Function calls (PythonFunction::augment): images float32 [N,C,H,W] in [0,1] are handed to
// Python as a numpy array over the caller's memory (zero-copy; the array keeps the memory
// alive through `keep_alive` should Python hold on to it), labels int64 [N], and a
// numpy.random.Generator(PCG64(seed)). The returned (images, labels) are checked — float32
// [N',C,H,W] (any N' >= 1), finite, in [0,1]; labels int [N'] in [0,K) or soft targets
// float [N',K] with rows in [0,1] summing to 1 — and copied out. Each problem has its own
// one-line RunError naming the file and the function; a Python exception becomes
//   "python method: augment() in 'my_aug.py' raised ValueError: <message> (epoch 1, batch 3;
//    traceback in <cell>/log.txt)"
// with the traceback appended to the log file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::augmentations::python {

// Starts the interpreter (once; thread-safe) and imports numpy (RunError if it cannot).
void ensure_interpreter();

// Where a Python method's code is: a file, or an importable module (sys.path, PYTHONPATH).
struct PythonSource {
  std::filesystem::path file;
  std::string module;
  std::string function = "augment";
  // "'examples/python_methods/random_erasing.py'" or "module 'my_pkg.aug'", for messages.
  std::string describe() const;
};

// The file that holds the source's code: `file` itself, or the module's file as
// importlib.util.find_spec finds it (starts the interpreter). ConfigError when missing.
std::filesystem::path source_path(const PythonSource& source);

// A user's batch function, loaded once per cell: the file is executed as a fresh module (the
// module is imported, then reloaded), so no state carries over from an earlier cell.
// Thread-safe: augment() may run on several loader threads at once (each takes the GIL).
class PythonFunction {
 public:
  // `params`: a YAML mapping passed as keyword arguments. `log`: a file the traceback of a
  // Python exception is appended to (empty: none). RunError when loading fails or the
  // module lacks the function.
  PythonFunction(PythonSource source, const YAML::Node& params, std::filesystem::path log);
  ~PythonFunction();
  PythonFunction(const PythonFunction&) = delete;
  PythonFunction& operator=(const PythonFunction&) = delete;

  // True when the module defines setup(train_images, train_labels, synthetic_images,
  // synthetic_labels, **params); call_setup() calls it (images as float32 [N,C,H,W] arrays;
  // an empty set as shape (0,C,H,W) with `shape` giving C,H,W).
  bool has_setup() const;
  void call_setup(const std::vector<Image>& train, const std::vector<int>& train_labels,
                  const std::vector<Image>& synthetic, const std::vector<int>& synthetic_labels,
                  const std::vector<std::int64_t>& shape) const;

  struct Input {
    const float* images = nullptr;         // [N,C,H,W], C-contiguous
    std::vector<std::int64_t> shape;       // N,C,H,W
    const std::int64_t* labels = nullptr;  // [N]
    std::shared_ptr<void> keep_alive;      // owns the memory above
    std::int64_t num_classes = 2;
    std::uint64_t seed = 0;                // of the numpy Generator
    std::string where;                     // "epoch 1, batch 3", for messages
  };
  struct Output {
    std::vector<std::int64_t> shape;       // N',C,H,W
    std::vector<float> images;
    std::vector<std::int64_t> labels;      // N' hard labels (the argmax of soft targets)
    std::vector<float> soft_targets;       // N'·K, or empty when Python returned hard labels
  };
  Output augment(const Input& input) const;

  const PythonSource& source() const { return source_; }
  // "3.11.2, numpy 1.24.2": the interpreter and numpy that ran it (for record.json).
  std::string versions() const;

 private:
  struct State;  // the Python objects (embedded.cpp)
  PythonSource source_;
  std::filesystem::path log_;
  std::unique_ptr<State> state_;
};

}  // namespace frerec::augmentations::python
