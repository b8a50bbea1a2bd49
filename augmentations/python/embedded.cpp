// Embedded CPython for Python augmentation methods (see embedded.h).
#include "augmentations/python/embedded.h"

#include <fmt/format.h>
#include <pybind11/embed.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

#include "framework/core/error.h"

namespace frerec::augmentations::python {
namespace py = pybind11;
namespace fs = std::filesystem;

namespace {

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// "ValueError: message" and the formatted traceback of a caught Python exception.
struct PythonFailure {
  std::string line;
  std::string traceback;
};

PythonFailure failure_of(const py::error_already_set& e) {
  PythonFailure failure;
  std::string type = "Exception";
  try {
    type = py::str(e.type().attr("__qualname__")).cast<std::string>();
  } catch (const py::error_already_set&) {
  }
  std::string message;
  try {
    message = py::str(e.value()).cast<std::string>();
  } catch (const py::error_already_set&) {
    message = "(unprintable exception)";
  }
  failure.line = one_line(message.empty() ? type : type + ": " + message);
  try {
    const py::list lines = py::module_::import("traceback").attr("format_exception")(e.type(), e.value(), e.trace());
    for (const auto& line : lines) failure.traceback += line.cast<std::string>();
  } catch (const py::error_already_set&) {
    failure.traceback = failure.line + "\n";
  }
  return failure;
}

void append_log(const fs::path& log, const std::string& heading, const std::string& text) {
  if (log.empty()) return;
  std::ofstream out(log, std::ios::app);
  out << heading << "\n" << text;
  if (!text.empty() && text.back() != '\n') out << "\n";
}

// YAML scalars typed as YAML 1.2's core schema reads them (quoted scalars stay strings).
py::object scalar_to_python(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return py::str(text);
  if (text == "true" || text == "True" || text == "TRUE") return py::bool_(true);
  if (text == "false" || text == "False" || text == "FALSE") return py::bool_(false);
  if (text == "null" || text == "Null" || text == "NULL" || text == "~" || text.empty()) return py::none();
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long long integer = std::strtoll(begin, &end, 10);
  if (errno == 0 && end != begin && *end == '\0') return py::int_(integer);
  errno = 0;
  const double real = std::strtod(begin, &end);
  if (errno == 0 && end != begin && *end == '\0') return py::float_(real);
  if (text == ".inf" || text == "+.inf") return py::float_(HUGE_VAL);
  if (text == "-.inf") return py::float_(-HUGE_VAL);
  if (text == ".nan") return py::float_(std::nan(""));
  return py::str(text);
}

py::object to_python(const YAML::Node& node) {
  if (!node || node.IsNull()) return py::none();
  if (node.IsScalar()) return scalar_to_python(node);
  if (node.IsSequence()) {
    py::list list;
    for (const auto& item : node) list.append(to_python(item));
    return std::move(list);
  }
  py::dict dict;
  for (const auto& item : node) dict[py::str(item.first.as<std::string>())] = to_python(item.second);
  return std::move(dict);
}

std::vector<py::ssize_t> c_strides(const std::vector<std::int64_t>& shape, py::ssize_t item) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = item;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= static_cast<py::ssize_t>(shape[i]);
  }
  return strides;
}

std::string shape_text(const py::array& array) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < array.ndim(); ++i) text += (i ? ", " : "") + std::to_string(array.shape(i));
  return text + (array.ndim() == 1 ? ",)" : ")");
}

std::string dtype_text(const py::array& array) { return py::str(array.dtype()).cast<std::string>(); }

py::array_t<float> images_array(const std::vector<Image>& images, const std::vector<std::int64_t>& chw) {
  py::array_t<float> array(std::vector<py::ssize_t>{static_cast<py::ssize_t>(images.size()), chw[0], chw[1], chw[2]});
  float* out = array.mutable_data();
  const std::size_t plane = static_cast<std::size_t>(chw[0] * chw[1] * chw[2]);
  for (const Image& image : images) {
    std::memcpy(out, image.data.data(), plane * sizeof(float));
    out += plane;
  }
  return array;
}

py::array_t<std::int64_t> labels_array(const std::vector<int>& labels) {
  py::array_t<std::int64_t> array(static_cast<py::ssize_t>(labels.size()));
  std::int64_t* out = array.mutable_data();
  for (std::size_t i = 0; i < labels.size(); ++i) out[i] = labels[i];
  return array;
}

}  // namespace

void ensure_interpreter() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    if (Py_IsInitialized()) return;  // a host interpreter (the program runs inside Python): it owns the GIL
    try {
      py::initialize_interpreter(/*init_signal_handlers=*/false);
    } catch (const std::exception& e) {
      failure = fmt::format("python method: the embedded Python {} could not start ({}); check PYTHONHOME and "
                            "PYTHONPATH",
                            PY_VERSION, one_line(e.what()));
      return;
    }
    try {
      py::module_::import("numpy");
    } catch (const py::error_already_set& e) {
      failure = fmt::format("python method: the embedded Python {} cannot import numpy ({}); install Debian's "
                            "python3-numpy (scripts/packages.sh)",
                            PY_VERSION, failure_of(e).line);
    }
    // The GIL is released for the rest of the program; calls take it around their own work.
    PyEval_SaveThread();
  });
  if (!failure.empty()) throw RunError(failure);
}

std::string PythonSource::describe() const {
  return file.empty() ? "module '" + module + "'" : "'" + file.string() + "'";
}

fs::path source_path(const PythonSource& source) {
  if (!source.file.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(source.file, ec))
      throw ConfigError(fmt::format("method.python.file '{}' not found (relative paths are relative to the working "
                                    "folder {})",
                                    source.file.string(), fs::current_path().string()));
    return source.file;
  }
  ensure_interpreter();
  py::gil_scoped_acquire gil;
  py::object spec;
  try {
    spec = py::module_::import("importlib.util").attr("find_spec")(source.module);
  } catch (const py::error_already_set& e) {
    throw ConfigError(fmt::format("method.python.module '{}' cannot be found: {}; put its folder on PYTHONPATH",
                                  source.module, failure_of(e).line));
  }
  if (spec.is_none())
    throw ConfigError(fmt::format("method.python.module '{}' is not importable (sys.path: {}); put its folder on "
                                  "PYTHONPATH or use method.python.file",
                                  source.module, py::str(py::module_::import("sys").attr("path")).cast<std::string>()));
  const py::object origin = spec.attr("origin");
  std::error_code ec;
  if (origin.is_none() || !fs::is_regular_file(origin.cast<std::string>(), ec))
    throw ConfigError(fmt::format("method.python.module '{}' has no source file (origin {}); a Python method must be "
                                  "a .py module so its content can be part of the config hash",
                                  source.module, py::str(origin).cast<std::string>()));
  return origin.cast<std::string>();
}

// Hidden like pybind11's own types (whose objects it holds).
struct __attribute__((visibility("hidden"))) PythonFunction::State {
  py::object module;
  py::object function;
  py::object setup;  // None when the module has no setup()
  py::dict kwargs;
  py::object generator;  // numpy.random.Generator
  py::object pcg64;      // numpy.random.PCG64
};

PythonFunction::PythonFunction(PythonSource source, const YAML::Node& params, fs::path log)
    : source_(std::move(source)), log_(std::move(log)) {
  const fs::path path = source_path(source_);
  ensure_interpreter();
  py::gil_scoped_acquire gil;
  auto state = std::make_unique<State>();
  try {
    if (!source_.file.empty()) {
      // A fresh module object per cell; the file's folder goes on sys.path so that its
      // helper modules import.
      const fs::path absolute = fs::absolute(path).lexically_normal();
      py::list sys_path = py::module_::import("sys").attr("path");
      const py::str folder(absolute.parent_path().string());
      if (!sys_path.contains(folder)) sys_path.insert(0, folder);
      std::string name = "frerec_python_method_" + absolute.stem().string();
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      const py::module_ util = py::module_::import("importlib.util");
      const py::object spec = util.attr("spec_from_file_location")(name, absolute.string());
      if (spec.is_none())
        throw RunError(fmt::format("python method: {} cannot be loaded as Python source (name it <something>.py)",
                                   source_.describe()));
      state->module = util.attr("module_from_spec")(spec);
      spec.attr("loader").attr("exec_module")(state->module);
    } else {
      const py::module_ importlib = py::module_::import("importlib");
      state->module = importlib.attr("reload")(importlib.attr("import_module")(source_.module));
    }
  } catch (const py::error_already_set& e) {
    const PythonFailure failure = failure_of(e);
    append_log(log_, fmt::format("python method: loading {} failed:", source_.describe()), failure.traceback);
    throw RunError(fmt::format("python method: loading {} raised {}{}", source_.describe(), failure.line,
                               log_.empty() ? "" : " (traceback in " + log_.string() + ")"));
  }
  const py::object function = py::getattr(state->module, source_.function.c_str(), py::none());
  if (function.is_none() || !PyCallable_Check(function.ptr())) {
    std::vector<std::string> names;
    for (const auto& item : py::dict(state->module.attr("__dict__"))) {
      const std::string name = item.first.cast<std::string>();
      if (!name.empty() && name[0] != '_' && PyFunction_Check(item.second.ptr())) names.push_back(name);
    }
    throw RunError(fmt::format("python method: {} has no function '{}' (method.python.function); it defines {}",
                               source_.describe(), source_.function,
                               names.empty() ? "no functions" : fmt::format("{}", fmt::join(names, ", "))));
  }
  state->function = function;
  const py::object setup = py::getattr(state->module, "setup", py::none());
  state->setup = !setup.is_none() && PyCallable_Check(setup.ptr()) ? setup : py::none();
  const py::object kwargs = to_python(params);
  if (!kwargs.is_none() && !py::isinstance<py::dict>(kwargs))
    throw ConfigError("method.python.params must be a mapping of keyword arguments, e.g. {p: 0.5}");
  if (!kwargs.is_none()) state->kwargs = kwargs;
  const py::module_ random = py::module_::import("numpy.random");
  state->generator = random.attr("Generator");
  state->pcg64 = random.attr("PCG64");
  state_ = std::move(state);
}

PythonFunction::~PythonFunction() {
  if (!state_) return;
  py::gil_scoped_acquire gil;
  state_.reset();
}

std::string PythonFunction::versions() const {
  py::gil_scoped_acquire gil;
  const std::string python = py::module_::import("platform").attr("python_version")().cast<std::string>();
  const std::string numpy = py::module_::import("numpy").attr("__version__").cast<std::string>();
  return python + ", numpy " + numpy;
}

bool PythonFunction::has_setup() const { return !state_->setup.is_none(); }

void PythonFunction::call_setup(const std::vector<Image>& train, const std::vector<int>& train_labels,
                                const std::vector<Image>& synthetic, const std::vector<int>& synthetic_labels,
                                const std::vector<std::int64_t>& shape) const {
  if (!has_setup()) return;
  py::gil_scoped_acquire gil;
  try {
    state_->setup(images_array(train, shape), labels_array(train_labels), images_array(synthetic, shape),
                  labels_array(synthetic_labels), **state_->kwargs);
  } catch (const py::error_already_set& e) {
    const PythonFailure failure = failure_of(e);
    append_log(log_, fmt::format("python method: setup() in {} failed:", source_.describe()), failure.traceback);
    throw RunError(fmt::format("python method: setup() in {} raised {}{}", source_.describe(), failure.line,
                               log_.empty() ? "" : " (traceback in " + log_.string() + ")"));
  }
}

PythonFunction::Output PythonFunction::augment(const Input& input) const {
  FREREC_ASSERT(input.shape.size() == 4, "python method: images must be N,C,H,W");
  const std::string who = fmt::format("python method: {}() in {}", source_.function, source_.describe());
  const std::int64_t k = input.num_classes;
  py::gil_scoped_acquire gil;
  // Zero-copy views over the caller's tensors; the capsule keeps them alive.
  auto* holder = new std::shared_ptr<void>(input.keep_alive);
  const py::capsule base(holder, [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
  const py::array_t<float> images(input.shape, c_strides(input.shape, sizeof(float)), input.images, base);
  const py::array_t<std::int64_t> labels(std::vector<std::int64_t>{input.shape[0]},
                                         std::vector<py::ssize_t>{sizeof(std::int64_t)}, input.labels, base);
  py::object result;
  try {
    const py::object rng = state_->generator(state_->pcg64(py::int_(input.seed)));
    result = state_->function(images, labels, rng, **state_->kwargs);
  } catch (const py::error_already_set& e) {
    const PythonFailure failure = failure_of(e);
    append_log(log_, fmt::format("{} failed ({}):", who, input.where), failure.traceback);
    throw RunError(fmt::format("{} raised {} ({}{})", who, failure.line, input.where,
                               log_.empty() ? "" : "; traceback in " + log_.string()));
  }
  if (!(py::isinstance<py::tuple>(result) || py::isinstance<py::list>(result)) || py::len(result) != 2)
    throw RunError(fmt::format("{} returned {} ({}); it must return (images, labels)", who,
                               py::str(py::type::of(result).attr("__name__")).cast<std::string>(), input.where));
  const py::object out_images = result[py::int_(0)], out_labels = result[py::int_(1)];
  if (!py::isinstance<py::array>(out_images))
    throw RunError(fmt::format("{} returned images of type {} ({}); return a numpy array", who,
                               py::str(py::type::of(out_images).attr("__name__")).cast<std::string>(), input.where));
  const py::array image_array = py::reinterpret_borrow<py::array>(out_images);
  if (image_array.dtype().kind() != 'f' || image_array.dtype().itemsize() != 4)
    throw RunError(fmt::format("{} returned images of dtype {} ({}); they must be float32 (e.g. "
                               "images.astype(np.float32))",
                               who, dtype_text(image_array), input.where));
  const bool shape_ok = image_array.ndim() == 4 && image_array.shape(0) >= 1 && image_array.shape(1) == input.shape[1] &&
                        image_array.shape(2) == input.shape[2] && image_array.shape(3) == input.shape[3];
  if (!shape_ok)
    throw RunError(fmt::format("{} returned images of shape {} ({}); they must be (N, {}, {}, {}) with N >= 1", who,
                               shape_text(image_array), input.where, input.shape[1], input.shape[2], input.shape[3]));
  Output output;
  const std::int64_t n = image_array.shape(0);
  output.shape = {n, input.shape[1], input.shape[2], input.shape[3]};
  {
    const auto contiguous = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(image_array);
    const float* data = contiguous.data();
    output.images.assign(data, data + contiguous.size());
  }
  std::size_t non_finite = 0;
  float lo = 0.0f, hi = 1.0f;
  for (const float v : output.images) {
    if (!std::isfinite(v)) {
      ++non_finite;
      continue;
    }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (non_finite > 0)
    throw RunError(fmt::format("{} returned images with {} NaN or infinite value{} ({}); every value must be a finite "
                               "number in [0, 1]",
                               who, non_finite, non_finite == 1 ? "" : "s", input.where));
  if (lo < 0.0f || hi > 1.0f)
    throw RunError(fmt::format("{} returned images with values outside [0, 1] (min {:.4g}, max {:.4g}) ({}); clip "
                               "them, e.g. np.clip(images, 0, 1)",
                               who, lo, hi, input.where));

  if (!py::isinstance<py::array>(out_labels))
    throw RunError(fmt::format("{} returned labels of type {} ({}); return a numpy array: int labels (N,) or float "
                               "soft targets (N, {})",
                               who, py::str(py::type::of(out_labels).attr("__name__")).cast<std::string>(),
                               input.where, k));
  const py::array label_array = py::reinterpret_borrow<py::array>(out_labels);
  const char kind = label_array.dtype().kind();
  if (kind == 'i' || kind == 'u') {
    if (label_array.ndim() != 1 || label_array.shape(0) != n)
      throw RunError(fmt::format("{} returned int labels of shape {} for {} images ({}); they must be ({},)", who,
                                 shape_text(label_array), n, input.where, n));
    const auto contiguous = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(label_array);
    output.labels.assign(contiguous.data(), contiguous.data() + n);
    for (std::int64_t i = 0; i < n; ++i)
      if (output.labels[i] < 0 || output.labels[i] >= k)
        throw RunError(fmt::format("{} returned label {} at position {} ({}); labels must be in [0, {})", who,
                                   output.labels[i], i, input.where, k));
    return output;
  }
  if (kind != 'f')
    throw RunError(fmt::format("{} returned labels of dtype {} ({}); return int64 labels (N,) or float soft targets "
                               "(N, {})",
                               who, dtype_text(label_array), input.where, k));
  if (label_array.ndim() != 2 || label_array.shape(0) != n || label_array.shape(1) != k)
    throw RunError(fmt::format("{} returned soft targets of shape {} for {} images ({}); they must be ({}, {})", who,
                               shape_text(label_array), n, input.where, n, k));
  const auto contiguous = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(label_array);
  output.soft_targets.assign(contiguous.data(), contiguous.data() + n * k);
  output.labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = output.soft_targets.data() + i * k;
    double sum = 0.0;
    std::int64_t best = 0;
    for (std::int64_t c = 0; c < k; ++c) {
      if (!std::isfinite(row[c]) || row[c] < 0.0f || row[c] > 1.0f)
        throw RunError(fmt::format("{} returned soft target {} in row {} ({}); every entry must be in [0, 1]", who,
                                   row[c], i, input.where));
      sum += row[c];
      if (row[c] > row[best]) best = c;
    }
    if (std::abs(sum - 1.0) > 1e-3)
      throw RunError(fmt::format("{} returned soft targets whose row {} sums to {:.6g} ({}); each row must sum to 1",
                                 who, i, sum, input.where));
    output.labels[static_cast<std::size_t>(i)] = best;
  }
  return output;
}

}  // namespace frerec::augmentations::python
