// The `frerec` Python module: FreRec's measurements and calibration on numpy arrays, the same
// C++ code as the `frerec` program (README "FreRec from Python").
//
//   import frerec                               # PYTHONPATH=build/release/python
//   frerec.ssim(a, b, window="gaussian")        # two images (H, W) or (C, H, W)
//   frerec.spectrum(images)                     # mean log spectrum (H, W) of a set
//   frerec.profile(images)                      # mean 1-D (azimuthal) profile; or one image's
//   frerec.spectral_gap(real, synthetic, ratio=0.5)      # {"high_band": ..., "all_radii": ...}
//   frerec.shr(synthetic, real, k=200, seed=0, **options)  # SHR (Eq. 1-3), options as shr.*
//   cal = frerec.Calibrator(real, stage="full", settings={"shr": {...}, "dae": {...}})
//   cal.fit(); calibrated = cal.apply(synthetic)           # = `frerec calibrate`
//   frerec.load_results("results/demo")        # record.json of every cell: list of dicts
//                                               # (a pandas DataFrame when pandas is installed)
//
// Images: float arrays (any float dtype, converted to float32) of shape (N, C, H, W) or
// (N, H, W), values in [0, 1]; outputs are float32 (N, C, H, W). Errors are Python
// exceptions carrying the C++ message: frerec.ConfigError (a ValueError) for bad settings
// and inputs, frerec.RunError (a RuntimeError) for failures while running. The GIL is
// released during the computations.
#include <fmt/format.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "augmentations/frerec/calibrate.h"
#include "augmentations/frerec/pipeline.h"
#include "augmentations/frerec/shr.h"
#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/error.h"
#include "framework/spectral/spectrum.h"
#include "framework/spectral/ssim.h"

namespace py = pybind11;
namespace fs = std::filesystem;

namespace frerec::python_module {
namespace {

// Images of a float array (N, C, H, W) or (N, H, W) in [0, 1].
std::vector<Image> images_from(const py::handle& object, const std::string& what, bool allow_single = false) {
  if (!py::isinstance<py::array>(object))
    throw ConfigError(fmt::format("frerec: {} must be a numpy array, got {}", what,
                                  py::str(py::type::of(object).attr("__name__")).cast<std::string>()));
  const py::array array = py::reinterpret_borrow<py::array>(object);
  if (array.dtype().kind() != 'f')
    throw ConfigError(fmt::format("frerec: {} must be a float array with values in [0, 1], got dtype {}", what,
                                  py::str(array.dtype()).cast<std::string>()));
  const py::ssize_t ndim = array.ndim();
  const bool single = allow_single && (ndim == 2 || ndim == 3);
  if (!single && ndim != 3 && ndim != 4)
    throw ConfigError(fmt::format("frerec: {} must have shape (N, C, H, W) or (N, H, W){}, got {} dimensions", what,
                                  allow_single ? " (or one image (C, H, W) / (H, W))" : "", ndim));
  const auto floats = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(array);
  std::int64_t n, c, h, w;
  if (single) {
    n = 1;
    c = ndim == 3 ? array.shape(0) : 1;
    h = array.shape(ndim - 2);
    w = array.shape(ndim - 1);
  } else {
    n = array.shape(0);
    c = ndim == 4 ? array.shape(1) : 1;
    h = array.shape(ndim - 2);
    w = array.shape(ndim - 1);
  }
  if (n < 1 || c < 1 || h < 1 || w < 1) throw ConfigError(fmt::format("frerec: {} holds no image", what));
  const float* data = floats.data();
  std::vector<Image> images;
  images.reserve(static_cast<std::size_t>(n));
  std::size_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    Image image(static_cast<int>(c), static_cast<int>(h), static_cast<int>(w));
    std::memcpy(image.data.data(), data + i * c * h * w, image.size() * sizeof(float));
    for (const float v : image.data)
      if (!(v >= 0.0f && v <= 1.0f)) ++bad;
    images.push_back(std::move(image));
  }
  if (bad > 0)
    throw ConfigError(fmt::format("frerec: {} has {} value{} outside [0, 1] or NaN; images are floats in [0, 1] "
                                  "(divide 8-bit images by 255)",
                                  what, bad, bad == 1 ? "" : "s"));
  return images;
}

Image image_from(const py::handle& object, const std::string& what) {
  if (py::isinstance<py::array>(object)) {
    const py::ssize_t ndim = py::reinterpret_borrow<py::array>(object).ndim();
    if (ndim != 2 && ndim != 3)
      throw ConfigError(fmt::format("frerec: {} must be one image of shape (H, W) or (C, H, W), got {} dimensions",
                                    what, ndim));
  }
  return images_from(object, what, true).front();
}

py::array_t<float> to_array(const std::vector<Image>& images) {
  const Image& first = images.front();
  py::array_t<float> array(std::vector<py::ssize_t>{static_cast<py::ssize_t>(images.size()), first.channels,
                                                    first.height, first.width});
  float* out = array.mutable_data();
  for (const Image& image : images) {
    std::memcpy(out, image.data.data(), image.size() * sizeof(float));
    out += image.size();
  }
  return array;
}

py::array_t<double> to_array(const std::vector<double>& values, std::vector<py::ssize_t> shape) {
  py::array_t<double> array(shape);
  std::copy(values.begin(), values.end(), array.mutable_data());
  return array;
}

void require_same_shape(const std::vector<Image>& a, const std::string& a_name, const std::vector<Image>& b,
                        const std::string& b_name) {
  const Image &x = a.front(), &y = b.front();
  if (!x.same_shape(y))
    throw ConfigError(fmt::format("frerec: {} images are {}x{}x{} but {} images are {}x{}x{}; use one size", a_name,
                                  x.channels, x.height, x.width, b_name, y.channels, y.height, y.width));
}

// A Python value (dict, list, str, bool, int, float, None) as YAML.
YAML::Node to_yaml(const py::handle& value) {
  if (value.is_none()) return YAML::Node();
  if (py::isinstance<py::bool_>(value)) return YAML::Node(value.cast<bool>() ? "true" : "false");
  if (py::isinstance<py::int_>(value)) return YAML::Node(std::to_string(value.cast<long long>()));
  if (py::isinstance<py::float_>(value)) return YAML::Node(fmt::format("{}", value.cast<double>()));
  if (py::isinstance<py::str>(value)) return YAML::Node(value.cast<std::string>());
  if (py::isinstance<py::dict>(value)) {
    YAML::Node node(YAML::NodeType::Map);
    for (const auto& item : py::reinterpret_borrow<py::dict>(value))
      node[py::str(item.first).cast<std::string>()] = to_yaml(item.second);
    return node;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    YAML::Node node(YAML::NodeType::Sequence);
    for (const auto& item : value) node.push_back(to_yaml(item));
    return node;
  }
  throw ConfigError(fmt::format("frerec: setting value {} of type {} is not a number, string, bool, list or dict",
                                py::repr(value).cast<std::string>(),
                                py::str(py::type::of(value).attr("__name__")).cast<std::string>()));
}

RunContext run_context(int threads, const std::string& cache_dir) {
  if (threads < 1) throw ConfigError(fmt::format("frerec: threads={} must be at least 1", threads));
  RunContext run;
  run.threads = threads;
  run.cache_dir = cache_dir;
  return run;
}

// FreRec's calibration (`frerec calibrate` on arrays): SHR, RHM or both.
class Calibrator {
 public:
  Calibrator(const py::handle& real, const std::string& stage, const py::object& settings, const py::object& checkpoint,
             int threads, const std::string& cache_dir)
      : real_(images_from(real, "real")), run_(run_context(threads, cache_dir)) {
    if (stage != "shr" && stage != "rhm" && stage != "full")
      throw ConfigError("frerec.Calibrator: stage '" + stage + "' must be shr, rhm or full");
    const YAML::Node root = settings.is_none() ? YAML::Node(YAML::NodeType::Map) : to_yaml(settings);
    if (!settings.is_none() && !py::isinstance<py::dict>(settings))
      throw ConfigError("frerec.Calibrator: settings must be a dict like {'shr': {'k': 8}, 'dae': {'epochs': 2}}");
    settings_ = pipeline::calibrate_settings(root, config::Provenance(), pipeline::parse_stage(stage));
    if (!checkpoint.is_none()) checkpoint_ = checkpoint.cast<std::string>();
  }

  // Trains the auto-encoder on the real images (or reads it from the artifact cache); a
  // given checkpoint that exists is used as it is. Nothing to train for stage shr.
  void fit() {
    if (settings_.stage == pipeline::FreRecStage::kShr) {
      fitted_ = true;
      return;
    }
    if (!checkpoint_.empty() && fs::exists(checkpoint_)) {
      fitted_ = true;
      return;
    }
    fs::path trained;
    {
      py::gil_scoped_release release;
      trained = pipeline::trained_dae(real_, settings_, run_);
    }
    if (!checkpoint_.empty()) {
      if (checkpoint_.has_parent_path()) fs::create_directories(checkpoint_.parent_path());
      fs::copy_file(trained, checkpoint_, fs::copy_options::overwrite_existing);
    } else {
      checkpoint_ = trained;
    }
    fitted_ = true;
  }

  py::array_t<float> apply(const py::handle& synthetic) const {
    if (!fitted_) throw RunError("frerec.Calibrator: call fit() before apply() (it trains the auto-encoder)");
    const std::vector<Image> images = images_from(synthetic, "synthetic");
    require_same_shape(real_, "real", images, "synthetic");
    std::vector<Image> out;
    {
      py::gil_scoped_release release;
      out = pipeline::calibrate(images, real_, settings_, checkpoint_, false, 0, run_);
    }
    return to_array(out);
  }

  std::string checkpoint() const { return checkpoint_.string(); }
  std::string stage() const { return pipeline::to_string(settings_.stage); }
  std::string shr_options() const { return settings_.shr.canonical(); }

 private:
  std::vector<Image> real_;
  RunContext run_;
  pipeline::FreRecSettings settings_;
  fs::path checkpoint_;
  bool fitted_ = false;
};

py::object load_results(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::is_directory(root))
    throw ConfigError(fmt::format("frerec.load_results: '{}' is not a folder (give results/<experiment>)", dir));
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file() && entry.path().filename() == "record.json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  const py::object loads = py::module_::import("json").attr("loads");
  py::list records;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    try {
      records.append(loads(text.str()));
    } catch (const py::error_already_set& e) {
      throw RunError(fmt::format("frerec.load_results: '{}' is not a readable record ({}); rerun its cell",
                                 file.string(), py::str(e.value()).cast<std::string>()));
    }
  }
  try {
    return py::module_::import("pandas").attr("json_normalize")(records);
  } catch (const py::error_already_set& e) {
    if (!e.matches(PyExc_ImportError)) throw;
  }
  return std::move(records);
}

}  // namespace
}  // namespace frerec::python_module

PYBIND11_MODULE(frerec, m) {
  using namespace frerec;
  using namespace frerec::python_module;
  m.doc() = "FreRec-Bench from Python: SSIM, spectra, SHR, FreRec calibration and results on numpy arrays";
  // Logs (e.g. the auto-encoder's training) go to stderr, as the program's do.
  if (!spdlog::get("frerec_python")) spdlog::set_default_logger(spdlog::stderr_color_mt("frerec_python"));
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
  py::register_exception<ConfigError>(m, "ConfigError", PyExc_ValueError);
  py::register_exception<RunError>(m, "RunError", PyExc_RuntimeError);

  m.def(
      "ssim",
      [](const py::handle& a, const py::handle& b, const std::string& window) {
        const Image x = image_from(a, "a"), y = image_from(b, "b");
        if (!x.same_shape(y))
          throw ConfigError(fmt::format("frerec.ssim: a is {}x{}x{} but b is {}x{}x{}", x.channels, x.height, x.width,
                                        y.channels, y.height, y.width));
        return spectral::ssim(x, y, spectral::parse_ssim_window(window, "frerec.ssim window"));
      },
      py::arg("a"), py::arg("b"), py::arg("window") = "gaussian",
      "SSIM of two images in [0, 1] (gaussian 11x11 sigma 1.5, Wang et al. 2004; or skimage's uniform 7x7)");
  m.def(
      "spectrum",
      [](const py::handle& images, int threads) {
        const std::vector<Image> set = images_from(images, "images");
        std::vector<double> mean;
        {
          py::gil_scoped_release release;
          mean = spectral::mean_log_spectrum(set, threads);
        }
        return to_array(mean, {set.front().height, set.front().width});
      },
      py::arg("images"), py::arg("threads") = 1,
      "mean over images and channels of ln(|centred FFT| + 1e-8), an (H, W) array");
  m.def(
      "profile",
      [](const py::handle& images, int threads) {
        const py::ssize_t ndim = py::isinstance<py::array>(images) ? py::reinterpret_borrow<py::array>(images).ndim() : 0;
        std::vector<double> values;
        if (ndim == 2) {
          values = spectral::azimuthal_profile(image_from(images, "image"));
        } else {
          const std::vector<Image> set = images_from(images, "images");
          py::gil_scoped_release release;
          values = spectral::mean_azimuthal_profile(set, threads);
        }
        return to_array(values, {static_cast<py::ssize_t>(values.size())});
      },
      py::arg("images"), py::arg("threads") = 1,
      "1-D power spectrum (Durall et al. 2020, min-max normalised): the mean over a set (N, [C,] H, W), or one (H, W) "
      "image's");
  m.def(
      "spectral_gap",
      [](const py::handle& real, const py::handle& synthetic, double ratio, int threads) {
        const std::vector<Image> a = images_from(real, "real"), b = images_from(synthetic, "synthetic");
        require_same_shape(a, "real", b, "synthetic");
        spectral::SpectralGap gap;
        {
          py::gil_scoped_release release;
          gap = spectral::spectral_gap(a, b, threads, ratio);
        }
        py::dict out;
        out["high_band"] = gap.high_band;
        out["all_radii"] = gap.all_radii;
        out["first_high_bin"] = gap.first_high_bin;
        out["bins"] = gap.bins;
        return out;
      },
      py::arg("real"), py::arg("synthetic"), py::arg("ratio") = 0.5, py::arg("threads") = 1,
      "mean |difference| of the mean 1-D profiles: high band (radius >= ratio * R_max) and all radii");
  m.def(
      "shr",
      [](const py::handle& synthetic, const py::handle& real, int k, long long seed, int threads, py::kwargs options) {
        YAML::Node node = options ? to_yaml(options) : YAML::Node(YAML::NodeType::Map);
        node["k"] = std::to_string(k);
        node["seed"] = std::to_string(seed);
        const YAML::Node validated = shr::ShrOptions::schema().validate(node, "shr", config::Provenance());
        const shr::ShrOptions settings = shr::ShrOptions::from_params(config::Params(validated, "shr"));
        const std::vector<Image> s = images_from(synthetic, "synthetic"), r = images_from(real, "real");
        require_same_shape(r, "real", s, "synthetic");
        if (threads < 1) throw ConfigError(fmt::format("frerec.shr: threads={} must be at least 1", threads));
        std::vector<Image> out;
        {
          py::gil_scoped_release release;
          out = shr::shr_with_retrieval(s, r, settings, threads);
        }
        return to_array(out);
      },
      py::arg("synthetic"), py::arg("real"), py::arg("k") = 200, py::arg("seed") = 0, py::arg("threads") = 1,
      "Statistical High-frequency Replacement (FreRec Eq. 1-3) of synthetic images with the real set as reference; "
      "further options as the shr.* keys: ratio, mask, spread, normalize, domain, stats, ssim, pool, epsilon_scale, negative");

  py::class_<Calibrator>(m, "Calibrator",
                         "FreRec calibration as `frerec calibrate` does it: fit() trains the RHM auto-encoder on the "
                         "real images (artifact cache in cache_dir, as the program's), apply() calibrates")
      .def(py::init<const py::handle&, const std::string&, const py::object&, const py::object&, int,
                    const std::string&>(),
           py::arg("real"), py::arg("stage") = "full", py::arg("settings") = py::none(),
           py::arg("checkpoint") = py::none(), py::arg("threads") = 1, py::arg("cache_dir") = "cache")
      .def(
          "fit",
          [](Calibrator& self) -> Calibrator& {
            self.fit();
            return self;
          },
          py::return_value_policy::reference_internal)
      .def("apply", &Calibrator::apply, py::arg("synthetic"))
      .def_property_readonly("checkpoint", &Calibrator::checkpoint)
      .def_property_readonly("stage", &Calibrator::stage)
      .def_property_readonly("shr_options", &Calibrator::shr_options);

  m.def("load_results", &load_results, py::arg("dir"),
        "every record.json under results/<experiment>, as a list of dicts (a pandas DataFrame when pandas is "
        "installed)");
}
