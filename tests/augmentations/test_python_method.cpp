// The `python` method (augmentations/python): the batch transform on hand-made batches with
// the functions of tests/augmentations/python/methods.py — values handed over zero-copy,
// numpy Generator seeded from the batch generator, soft targets, a changed batch size,
// keyword parameters typed as YAML reads them — every bad result and Python failure as
// its own one-line RunError (traceback in the log), and the resolver that puts the
// source's SHA-256 and the label into the validated config (so editing the file changes the
// cell's config hash and folder stays python-<label>).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <random>

#include "augmentations/python/embedded.h"
#include "augmentations/python/python_method.h"
#include "experiments/register.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/runner/plan.h"

namespace frerec::augmentations {
namespace {
namespace fs = std::filesystem;

const fs::path kMethods = fs::path(FREREC_SOURCE_DIR) / "tests/augmentations/python/methods.py";

// The same 4 random 1x8x8 images every time.
train::Batch make_batch(std::int64_t n = 4) {
  torch::manual_seed(0);
  train::Batch batch;
  batch.images = torch::rand({n, 1, 8, 8}, torch::TensorOptions().dtype(torch::kFloat));
  batch.labels = torch::arange(n, torch::kLong).remainder(2);
  batch.targets = torch::one_hot(batch.labels, 2).to(torch::kFloat);
  for (std::int64_t i = 0; i < n; ++i) {
    batch.ids.push_back("img" + std::to_string(i));
    batch.indices.push_back(static_cast<std::size_t>(i));
  }
  batch.epoch = 1;
  batch.batch_index = 2;
  return batch;
}

std::shared_ptr<const python::PythonFunction> load(const std::string& function, const std::string& params = "{}",
                                                   const fs::path& log = {}) {
  python::PythonSource source;
  source.file = kMethods;
  source.function = function;
  return std::make_shared<const python::PythonFunction>(source, YAML::Load(params), log);
}

train::Batch run(const std::string& function, std::uint64_t seed = 1, const std::string& params = "{}") {
  train::Batch batch = make_batch();
  std::mt19937_64 rng(seed);
  PythonBatchTransform(load(function, params)).apply(batch, rng);
  return batch;
}

// The RunError message of applying `function` to a batch ("" when none is thrown).
std::string error_of(const std::string& function, const fs::path& log = {}) {
  try {
    train::Batch batch = make_batch();
    std::mt19937_64 rng(1);
    PythonBatchTransform(load(function, "{}", log)).apply(batch, rng);
  } catch (const RunError& e) {
    return e.what();
  }
  return "";
}

TEST(PythonMethod, IdentityKeepsTheBatch) {
  train::Batch batch = make_batch();
  const torch::Tensor images = batch.images.clone(), targets = batch.targets.clone(), labels = batch.labels.clone();
  std::mt19937_64 rng(1);
  PythonBatchTransform(load("identity")).apply(batch, rng);
  EXPECT_TRUE(torch::equal(batch.images, images));
  EXPECT_TRUE(torch::equal(batch.labels, labels));
  EXPECT_TRUE(torch::equal(batch.targets, targets));
  EXPECT_EQ(batch.ids.size(), 4u);
  EXPECT_EQ(batch.indices.size(), 4u);
}

TEST(PythonMethod, ImagesAreHandedOverWithoutACopy) {
  train::Batch batch = make_batch();
  const torch::Tensor original = batch.images;  // the collated tensor Python sees
  std::mt19937_64 rng(1);
  PythonBatchTransform(load("write_in_place")).apply(batch, rng);
  EXPECT_FLOAT_EQ(original[0][0][0][0].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(batch.images[0][0][0][0].item<float>(), 0.25f);
}

TEST(PythonMethod, GeneratorFollowsTheBatchGenerator) {
  const train::Batch a = run("noise", 7), b = run("noise", 7), c = run("noise", 8);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_FALSE(torch::equal(a.images, c.images));
  EXPECT_LE(a.images.max().item<float>(), 1.0f);
  EXPECT_GE(a.images.min().item<float>(), 0.0f);
}

TEST(PythonMethod, SoftTargetsAndHardLabelsFromThem) {
  const train::Batch batch = run("mixup_soft");
  ASSERT_EQ(batch.targets.sizes(), (std::vector<std::int64_t>{4, 2}));
  EXPECT_TRUE(torch::allclose(batch.targets.sum(1), torch::ones({4})));
  EXPECT_FALSE(torch::equal(batch.targets, torch::one_hot(batch.labels, 2).to(torch::kFloat)))
      << "Beta(0.4, 0.4) mixing leaves some target soft";
  EXPECT_TRUE(torch::equal(batch.labels, batch.targets.argmax(1)));
}

TEST(PythonMethod, BatchSizeMayChange) {
  const train::Batch batch = run("double_batch");
  EXPECT_EQ(batch.images.size(0), 8);
  EXPECT_EQ(batch.labels.size(0), 8);
  EXPECT_EQ(batch.targets.size(0), 8);
  EXPECT_EQ(batch.ids.size(), 8u);
  EXPECT_TRUE(batch.indices.empty());
  EXPECT_TRUE(torch::equal(batch.images.slice(0, 4, 8), batch.images.slice(0, 0, 4).flip({2})));
}

TEST(PythonMethod, ParamsArriveTypedAsYamlReadsThem) {
  EXPECT_NO_THROW(run("check_params", 1,
                      "{integer: 3, real: 0.5, flag: true, text: hello, quoted: '7', items: [1, 2.5, x], "
                      "nested: {a: 1}, nothing: null}"));
  EXPECT_THROW(run("check_params", 1,
                   "{integer: 4, real: 0.5, flag: true, text: hello, quoted: '7', items: [1, 2.5, x], "
                   "nested: {a: 1}, nothing: null}"),
               RunError);
}

TEST(PythonMethod, PythonExceptionIsOneLineWithTheTracebackInTheLog) {
  const fs::path log = fs::temp_directory_path() / ("frerec-python-log-" + std::to_string(std::random_device()()));
  const std::string message = error_of("raises", log);
  EXPECT_NE(message.find("python method: raises() in '" + kMethods.string() + "' raised ValueError: cannot erase a "
                         "batch of 4 images (epoch 2, batch 3; traceback in " + log.string() + ")"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  const std::string traceback = read_file(log);
  EXPECT_NE(traceback.find("Traceback (most recent call last)"), std::string::npos) << traceback;
  EXPECT_NE(traceback.find("in helper_that_fails"), std::string::npos) << traceback;
  fs::remove(log);
}

TEST(PythonMethod, EveryBadResultHasItsOwnMessage) {
  const std::pair<const char*, const char*> cases[] = {
      {"wrong_shape", "returned images of shape (4, 8, 8) (epoch 2, batch 3); they must be (N, 1, 8, 8) with N >= 1"},
      {"float64", "returned images of dtype float64 (epoch 2, batch 3); they must be float32"},
      {"with_nan", "returned images with 1 NaN or infinite value (epoch 2, batch 3)"},
      {"out_of_range", "returned images with values outside [0, 1] (min -0.5"},
      {"not_a_pair", "returned ndarray (epoch 2, batch 3); it must return (images, labels)"},
      {"list_images", "returned images of type list (epoch 2, batch 3); return a numpy array"},
      {"label_out_of_range", "labels must be in [0, 2)"},
      {"wrong_label_count", "returned int labels of shape (3,) for 4 images (epoch 2, batch 3); they must be (4,)"},
      {"soft_not_normalised", "returned soft targets whose row 0 sums to 1.6"},
      {"string_labels", "returned labels of dtype <U21 (epoch 2, batch 3); return int64 labels (N,) or float soft"},
  };
  for (const auto& [function, expected] : cases) {
    const std::string message = error_of(function);
    EXPECT_EQ(message.rfind(std::string("python method: ") + function + "() in '", 0), 0u) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << function << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(PythonMethod, LoadingFailuresNameTheFileAndTheProblem) {
  auto load_error = [](const fs::path& file, const std::string& function) -> std::string {
    python::PythonSource source;
    source.file = file;
    source.function = function;
    try {
      python::PythonFunction f(source, YAML::Node(), {});
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::string message = load_error(kMethods, "augment");
  EXPECT_NE(message.find("python method: '" + kMethods.string() + "' has no function 'augment' "
                         "(method.python.function); it defines setup, identity, setup_shapes"),
            std::string::npos)
      << message;
  message = load_error(kMethods, "not_callable");
  EXPECT_NE(message.find("has no function 'not_callable'"), std::string::npos) << message;
  const fs::path folder = kMethods.parent_path();
  message = load_error(folder / "syntax_error.py", "augment");
  EXPECT_NE(message.find("python method: loading '" + (folder / "syntax_error.py").string() +
                         "' raised SyntaxError: expected ':'"),
            std::string::npos)
      << message;
  message = load_error(folder / "import_error.py", "augment");
  EXPECT_NE(message.find("raised ModuleNotFoundError: No module named 'module_that_does_not_exist'"),
            std::string::npos)
      << message;
  message = load_error(folder / "missing.py", "augment");
  EXPECT_NE(message.find("method.python.file '" + (folder / "missing.py").string() + "' not found"), std::string::npos)
      << message;
}

TEST(PythonMethod, ModuleSourceIsFoundOnSysPath) {
  python::PythonSource source;
  source.module = "json";  // a standard-library module: a .py file under /usr/lib/python3.11
  EXPECT_EQ(python::source_path(source).filename(), "__init__.py");
  source.module = "no_such_module_here";
  EXPECT_THROW(python::source_path(source), ConfigError);
}

// The resolver at plan time: source_sha256 and label in the validated cell config.
TEST(PythonMethod, ConfigHashCoversTheSourceFile) {
  experiments::register_all();
  const fs::path dir = fs::temp_directory_path() / ("frerec-python-plan-" + std::to_string(std::random_device()()));
  fs::create_directories(dir);
  write_file_atomic(dir / "my_aug.py", "def augment(images, labels, rng):\n    return images, labels\n");
  write_file_atomic(dir / "cfg.yaml", "experiment: {kind: classify}\ndata: {name: demo_mri}\nmodel: {name: resnet18}\n"
                                      "method: {name: python, python: {file: " + (dir / "my_aug.py").string() + "}}\n");
  const ExperimentPlan before = make_plan(dir / "cfg.yaml", {});
  ASSERT_EQ(before.cells.size(), 1u);
  EXPECT_EQ(before.cells[0].config["method"]["python"]["source_sha256"].as<std::string>(),
            sha256_file((dir / "my_aug.py").string()));
  EXPECT_EQ(before.cells[0].id, "demo_mri/python-my_aug/resnet18/seed=0");
  EXPECT_EQ(make_plan(dir / "cfg.yaml", {}).cells[0].config_hash, before.cells[0].config_hash);
  write_file_atomic(dir / "my_aug.py", "def augment(images, labels, rng):\n    return images[::-1], labels[::-1]\n");
  EXPECT_NE(make_plan(dir / "cfg.yaml", {}).cells[0].config_hash, before.cells[0].config_hash);
  EXPECT_EQ(make_plan(dir / "cfg.yaml", {"method.python.label=erase"}).cells[0].id,
            "demo_mri/python-erase/resnet18/seed=0");
  // Neither or both of file and module; a missing file names where it was set.
  EXPECT_THROW(make_plan(dir / "cfg.yaml", {"method.python.file="}), ConfigError);
  EXPECT_THROW(make_plan(dir / "cfg.yaml", {"method.python.module=json"}), ConfigError);
  try {
    make_plan(dir / "cfg.yaml", {"method.python.file=nowhere.py"});
    ADD_FAILURE() << "a missing file must be a config error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("command line: method.python.file 'nowhere.py' not found"), std::string::npos)
        << e.what();
  }
  // Other methods of the grid do not need the file.
  EXPECT_EQ(make_plan(dir / "cfg.yaml", {"method.name=raw", "method.python.file=nowhere.py"}).cells.size(), 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace frerec::augmentations
