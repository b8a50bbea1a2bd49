// The `python` method (see python_method.h).
#include "augmentations/python/python_method.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <utility>

#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/registry.h"
#include "framework/train/trainer.h"

namespace frerec::augmentations {
namespace {

// A tensor over a vector it owns (no copy).
template <typename T>
torch::Tensor tensor_owning(std::vector<T> values, std::vector<std::int64_t> shape, torch::Dtype dtype) {
  auto* owner = new std::vector<T>(std::move(values));
  return torch::from_blob(
      owner->data(), shape, [owner](void*) { delete owner; }, torch::TensorOptions().dtype(dtype));
}

std::vector<int> labels_of(const datasets::ImageSet& set) { return set.labels(); }

class PythonMethod : public Method {
 public:
  PythonMethod(python::PythonSource source, YAML::Node params, std::string label, std::string sha256)
      : source_(std::move(source)), params_(std::move(params)), label_(std::move(label)), sha256_(std::move(sha256)) {}

  TrainingInputs prepare(const CellData& data) override {
    TrainingInputs inputs = Method::prepare(data);
    // The file run is the one the config hash covers (an edit after planning would make
    // the record lie about what ran).
    const std::string now = sha256_file(python::source_path(source_).string());
    if (!sha256_.empty() && now != sha256_)
      throw RunError(fmt::format("python method: {} changed since the run was planned (SHA-256 {} is now {}); run "
                                 "again to plan with the new content",
                                 source_.describe(), sha256_.substr(0, 12), now.substr(0, 12)));
    function_ = std::make_shared<const python::PythonFunction>(source_, params_, data.log);
    const datasets::TaskData& task = data.task;
    if (function_->has_setup()) {
      const std::vector<std::int64_t> shape = {task.real_train.channels(), task.real_train.height(),
                                               task.real_train.width()};
      spdlog::info("python method: setup() with {} training and {} synthetic images", task.real_train.size(),
                   task.synthetic.size());
      function_->call_setup(task.real_train.load_all(), labels_of(task.real_train),
                            task.synthetic.empty() ? std::vector<Image>() : task.synthetic.load_all(),
                            task.synthetic.empty() ? std::vector<int>() : labels_of(task.synthetic), shape);
    }
    inputs.record["row"] = "python-" + label_;
    inputs.record["python"] = {{"source", source_.file.empty() ? source_.module : source_.file.string()},
                               {"function", source_.function},
                               {"source_sha256", now},
                               {"setup", function_->has_setup()},
                               {"python", function_->versions()}};
    return inputs;
  }

  void configure(train::Trainer& trainer, train::ModelHandle&, const CellData&) override {
    FREREC_ASSERT(function_ != nullptr, "python method: configure() before prepare()");
    trainer.add_batch_transform(std::make_shared<PythonBatchTransform>(function_));
  }

 private:
  python::PythonSource source_;
  YAML::Node params_;
  std::string label_;
  std::string sha256_;
  std::shared_ptr<const python::PythonFunction> function_;
};

std::string default_label(const python::PythonSource& source) {
  if (!source.file.empty()) return source.file.stem().string();
  const auto dot = source.module.rfind('.');
  return dot == std::string::npos ? source.module : source.module.substr(dot + 1);
}

}  // namespace

PythonBatchTransform::PythonBatchTransform(std::shared_ptr<const python::PythonFunction> function)
    : function_(std::move(function)) {}

void PythonBatchTransform::apply(train::Batch& batch, std::mt19937_64& rng) const {
  if (!batch.targets.defined())
    throw ConfigError("python method: the batch has no soft targets; set trainer.num_classes");
  python::PythonFunction::Input input;
  input.seed = rng();
  const torch::Tensor images = batch.images.to(torch::kCPU, torch::kFloat).contiguous();
  const torch::Tensor labels = batch.labels.to(torch::kCPU, torch::kLong).contiguous();
  input.images = images.data_ptr<float>();
  input.shape = images.sizes().vec();
  input.labels = labels.data_ptr<std::int64_t>();
  input.keep_alive = std::make_shared<std::pair<torch::Tensor, torch::Tensor>>(images, labels);
  input.num_classes = batch.targets.size(1);
  input.where = fmt::format("epoch {}, batch {}", batch.epoch + 1, batch.batch_index + 1);
  python::PythonFunction::Output output = function_->augment(input);

  const std::int64_t n = output.shape[0], k = input.num_classes;
  const std::int64_t before = input.shape[0];
  batch.images = tensor_owning(std::move(output.images), output.shape, torch::kFloat);
  if (output.soft_targets.empty()) {
    batch.labels = tensor_owning(std::move(output.labels), {n}, torch::kLong);
    batch.targets = torch::one_hot(batch.labels, k).to(torch::kFloat);
  } else {
    batch.labels = tensor_owning(std::move(output.labels), {n}, torch::kLong);
    batch.targets = tensor_owning(std::move(output.soft_targets), {n, k}, torch::kFloat);
  }
  if (n != before) {  // new images have no sample position
    batch.ids.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      batch.ids[static_cast<std::size_t>(i)] = fmt::format("python:{}:{}:{}", batch.epoch, batch.batch_index, i);
    batch.indices.clear();
  }
}

config::Schema python_method_schema() {
  config::Schema schema;
  schema.add_string("file", "", "the Python file defining the method (relative to the working folder); or module");
  schema.add_string("module", "", "an importable module defining the method (PYTHONPATH); or file");
  schema.add_string("function", "augment", "augment(images, labels, rng, **params) -> (images, labels), per batch");
  schema.add_any("params", "keyword arguments of augment() and setup() (a mapping)", YAML::Node(YAML::NodeType::Map));
  schema.add_string("label", "",
                    "the method's name in cell folders and Table 2 (python-<label>; default: the file or module name)");
  schema.add_string("source_sha256", "", "filled in by frerec: SHA-256 of the Python source (part of the config hash)");
  return schema;
}

python::PythonSource python_source_from(const config::Params& params) {
  python::PythonSource source;
  source.file = params.get<std::string>("file");
  source.module = params.get<std::string>("module");
  source.function = params.get<std::string>("function");
  if (source.file.empty() == source.module.empty())
    throw ConfigError(fmt::format("{}: give exactly one of {} (a .py file) and {} (an importable module){}",
                                  params.prefix(), params.full_key("file"), params.full_key("module"),
                                  source.file.empty() ? "" : ", not both"));
  if (source.function.empty()) throw ConfigError(params.full_key("function") + " must name the batch function");
  return source;
}

void register_python_method() {
  method_registry().add(
      "python", "your own method in Python: augment(images, labels, rng, **params) per batch (README, examples/)",
      python_method_schema(), [](const config::Params& p) -> std::unique_ptr<Method> {
        return std::make_unique<PythonMethod>(python_source_from(p), YAML::Clone(p.node()["params"]),
                                              p.get<std::string>("label"), p.get<std::string>("source_sha256"));
      });
  Catalog::instance().set_resolver(
      "methods", "python", [](YAML::Node& block, const std::string& key, const config::Provenance& provenance) {
        const python::PythonSource source = python_source_from(config::Params(block, key));
        std::filesystem::path path;
        try {
          path = python::source_path(source);
        } catch (const ConfigError& e) {
          const std::string where = provenance.where(key + (source.file.empty() ? ".module" : ".file"));
          throw ConfigError(where.empty() ? e.what() : where + ": " + e.what());
        }
        block["source_sha256"] = sha256_file(path.string());
        if (block["label"].as<std::string>().empty()) block["label"] = default_label(source);
      });
}

}  // namespace frerec::augmentations
