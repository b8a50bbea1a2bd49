// End-to-end tests of `method.name: python` through the `frerec` program on tiny demo
// configs: an example of examples/python_methods/ as a Table 2 row next to RAW, identical
// results across loader workers 1/2 and a kill + resume, identical Python batches across
// --threads 1/2, every kind of bad Python method as one error line with a non-zero exit
// and no record, and an edited Python file rerunning its cells.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "framework/core/atomic_file.h"

namespace frerec {
namespace {
namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string output;
};

// Runs the program from `cwd` (with `env`, e.g. "PYTHONHOME=/x", set), capturing its output.
Result frerec(const std::string& args, const fs::path& cwd, const std::string& env = "") {
  const std::string command =
      "cd '" + cwd.string() + "' && " + env + " " + std::string(FREREC_BINARY_DIR) + "/frerec " + args + " 2>&1";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) result.output += buffer.data();
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const fs::path kSource = FREREC_SOURCE_DIR;
const std::string kMethods = (kSource / "tests/augmentations/python/methods.py").string();

// A tiny demo task (32² images, 48 training and 32 test images, no synthetic pool).
const std::string kTinyData =
    " data.image_size=32 data.counts.train.positive=24 data.counts.train.negative=24 data.counts.test.positive=16"
    " data.counts.test.negative=16 data.synthetic.name=none train.batch_size=16 train.eval_batch_size=32"
    " train.warmup_epochs=0";

const char* kTinyPythonConfig = R"(experiment: {kind: classify}
data:
  name: demo_mri
  image_size: 32
  counts:
    train: {positive: 24, negative: 24}
    test: {positive: 16, negative: 16}
model: {name: resnet18}
train: {epochs: EPOCHS, batch_size: 16, eval_batch_size: 32, workers: 2, warmup_epochs: 0}
method:
  name: python
  python: {file: FILE, function: FUNCTION, params: PARAMS}
)";

class CliPython : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("frerec-cli-python-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Writes <name>.yaml: the tiny task with a Python method.
  static void write_config(const std::string& name, const std::string& file, const std::string& function,
                           const std::string& params = "{}", int epochs = 1) {
    std::string text = kTinyPythonConfig;
    text.replace(text.find("EPOCHS"), 6, std::to_string(epochs));
    text.replace(text.find("FILE"), 4, file);
    text.replace(text.find("FUNCTION"), 8, function);
    text.replace(text.find("PARAMS"), 6, params);
    write_file_atomic(dir_ / (name + ".yaml"), text);
  }
  static nlohmann::json json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }
  static fs::path dir_;
};
fs::path CliPython::dir_;

// The shipped example, as its config adds it to the demo's Table 2 (shrunk to one tiny
// dataset, backbone and seed), lands as its own row next to RAW; the demo suite with it
// validates and lists the Python cells beside the paper's.
TEST_F(CliPython, ExampleMethodIsATable2Row) {
  const std::string results = (dir_ / "example").string();
  Result r = frerec("--threads 2 --results-dir " + results + " --cache-dir " + (dir_ / "cache").string() +
                        " run examples/python_methods/random_erasing_table2.yaml 'method.name=[raw,python]'"
                        " 'data.name=[demo_mri]' 'model.name=[resnet18]' 'seed=[0]' train.steps=0 train.warmup_steps=0 train.epochs=1" + kTinyData,
                    kSource);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("2 ran, 0 skipped"), std::string::npos) << r.output;
  const fs::path cell = fs::path(results) / "demo/demo_mri/python-random_erasing/resnet18/seed=0";
  const auto record = json(cell / "record.json");
  EXPECT_EQ(record["status"], "ok");
  EXPECT_EQ(record["extra"]["method"]["row"], "python-random_erasing");
  EXPECT_NE(read_file(cell / "config.yaml").find("threads: 1"), std::string::npos) << "the example pins train.threads";
  EXPECT_EQ(record["extra"]["method"]["python"]["source_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(record["extra"]["method"]["python"]["python"].get<std::string>().rfind("3.11", 0), 0u) << record;
  EXPECT_NE(record["extra"]["method"]["python"]["python"].get<std::string>().find(", numpy 1."), std::string::npos);
  const std::string table = read_file(fs::path(results) / "demo/table2.md");
  EXPECT_NE(table.find("| demo_mri / resnet18 | raw |"), std::string::npos) << table;
  EXPECT_NE(table.find("| python-random_erasing |"), std::string::npos) << table;

  for (const char* example : {"random_erasing_demo.yaml", "amplitude_mix_demo.yaml"}) {
    r = frerec("--results-dir " + results + " run examples/python_methods/" + example + " --dry-run", kSource);
    ASSERT_EQ(r.code, 0) << example << "\n" << r.output;
    const std::string stem = std::string(example).substr(0, std::string(example).find("_demo"));
    EXPECT_NE(r.output.find("demo_fundus/python-" + stem + "/resnet18/seed=4"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("demo_mri/gda_frerec/densenet_small/seed=0"), std::string::npos) << r.output;
  }
}

// The metrics and predictions of a Python cell (amplitude_mix: setup() and the numpy
// Generator) do not depend on the loader workers, a kill and resume, or --threads 1/2 (with
// train.threads fixed, as the example configs do). What Python computes does not depend on
// the LibTorch thread count either: every batch it returns is the same with 1 and 2 threads.
TEST_F(CliPython, ResultsIdenticalAcrossWorkersResumeAndThreads) {
  write_config("amp", (kSource / "examples/python_methods/amplitude_mix.py").string(), "augment",
               "{alpha: 0.5, p: 1.0, partners: train}", 3);
  Result r = frerec("--threads 2 --results-dir w2 run amp.yaml train.threads=1", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path cell = "amp/demo_mri/python-amplitude_mix/resnet18/seed=0";
  const std::string predictions = read_file(dir_ / "w2" / cell / "predictions.csv");
  const auto metrics = json(dir_ / "w2" / cell / "record.json")["metrics"];
  const std::pair<const char*, const char*> variants[] = {{"w1", "--threads 2 --results-dir w1 run amp.yaml "
                                                                 "train.threads=1 train.workers=1"},
                                                          {"t1", "--threads 1 --results-dir t1 run amp.yaml "
                                                                 "train.threads=1"}};
  for (const auto& [folder, command] : variants) {
    r = frerec(command, dir_);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_file(dir_ / folder / cell / "predictions.csv"), predictions) << folder;
    const auto other = json(dir_ / folder / cell / "record.json")["metrics"];
    for (const char* key : {"auc", "accuracy", "f1", "precision", "recall"})
      EXPECT_EQ(other[key], metrics[key]) << folder << " " << key;
  }

  // Killed (SIGKILL) once the first epoch's checkpoint exists, then resumed.
  const std::string last = "killed/" + cell.string() + "/checkpoints/last.pt";
  const std::string kill = "cd '" + dir_.string() + "' && (" + std::string(FREREC_BINARY_DIR) +
                           "/frerec --threads 2 -q --results-dir killed run amp.yaml train.epochs=12 > /dev/null 2>&1 & "
                           "pid=$!; while [ ! -f '" + last + "' ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done; "
                           "kill -9 $pid; wait $pid) > /dev/null 2>&1";
  ASSERT_GE(std::system(kill.c_str()), 0);
  ASSERT_TRUE(fs::exists(dir_ / last)) << "the run was not killed after its first epoch";
  ASSERT_FALSE(fs::exists(dir_ / "killed" / cell / "record.json")) << "the run finished before the kill";
  r = frerec("--threads 2 --results-dir killed run amp.yaml train.epochs=12", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  r = frerec("--threads 2 --results-dir whole run amp.yaml train.epochs=12", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(dir_ / "killed" / cell / "predictions.csv"), read_file(dir_ / "whole" / cell / "predictions.csv"));
  const auto killed = json(dir_ / "killed" / cell / "record.json")["metrics"];
  const auto whole = json(dir_ / "whole" / cell / "record.json")["metrics"];
  EXPECT_TRUE(killed["resumed"].get<bool>());
  for (const char* key : {"auc", "accuracy", "f1", "precision", "recall", "confusion", "epochs", "steps"})
    EXPECT_EQ(killed[key], whole[key]) << key;

  // The batches Python returns, as SHA-256 digests, with 1 and 2 LibTorch threads (and 2
  // loader workers, so in any order): the same 3 epochs x 3 batches.
  auto digests = [&](int threads) {
    const fs::path log = dir_ / ("digests_" + std::to_string(threads) + ".txt");
    write_config("digest", kMethods, "digest_log", "{log: '" + log.string() + "'}", 3);
    const Result run = frerec("--threads " + std::to_string(threads) + " --results-dir d" + std::to_string(threads) +
                                  " run digest.yaml",
                              dir_);
    EXPECT_EQ(run.code, 0) << run.output;
    std::vector<std::string> lines;
    std::istringstream in(read_file(log));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  const auto one = digests(1), two = digests(2);
  EXPECT_EQ(one.size(), 9u);
  EXPECT_EQ(one, two);
  EXPECT_EQ(std::set<std::string>(one.begin(), one.end()).size(), 9u) << "every batch differs";
}

// setup() runs once per cell with the training split and the (empty) synthetic pool;
// soft targets and a changed batch size train.
TEST_F(CliPython, SetupSoftTargetsAndNewBatchSizesRun) {
  for (const char* function : {"setup_shapes", "mixup_soft", "double_batch"}) {
    write_config(function, kMethods, function);
    const Result r = frerec("--threads 2 run " + std::string(function) + ".yaml", dir_);
    EXPECT_EQ(r.code, 0) << function << "\n" << r.output;
    EXPECT_TRUE(fs::exists(dir_ / "results" / function / "demo_mri/python-methods/resnet18/seed=0/record.json"))
        << function;
  }
}

// Bad methods: one error line naming file, function and problem; non-zero exit; the cell
// has error.json and the traceback in its log.txt but no record.json.
TEST_F(CliPython, BadMethodsFailTheirCellWithOneLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"raises", "raised ValueError: cannot erase a batch of 16 images (epoch 1, batch 1; traceback in "},
      {"wrong_shape", "returned images of shape (16, 32, 32) (epoch 1, batch 1); they must be (N, 1, 32, 32)"},
      {"float64", "returned images of dtype float64 (epoch 1, batch 1); they must be float32"},
      {"with_nan", "returned images with 1 NaN or infinite value (epoch 1, batch 1)"},
      {"out_of_range", "returned images with values outside [0, 1] (min -0.5"},
      {"label_out_of_range", "returned label 5 at position 0 (epoch 1, batch 1); labels must be in [0, 2)"},
      {"no_such_function", "has no function 'no_such_function' (method.python.function)"},
  };
  for (const auto& [function, expected] : cases) {
    write_config("bad", kMethods, function);
    const std::string results = std::string("bad_") + function;
    // One loader thread: the first failing batch is batch 1 (with two, whichever fails first).
    const Result r = frerec("--threads 2 --results-dir " + results + " run bad.yaml train.workers=1", dir_);
    EXPECT_EQ(r.code, 1) << function << "\n" << r.output;
    const std::string line = "python method: ";
    const auto at = r.output.find(line);
    ASSERT_NE(at, std::string::npos) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << function << "\n" << r.output;
    EXPECT_NE(r.output.find(kMethods), std::string::npos) << r.output;
    const fs::path cell = dir_ / results / "bad/demo_mri/python-methods/resnet18/seed=0";
    EXPECT_FALSE(fs::exists(cell / "record.json")) << function;
    ASSERT_TRUE(fs::exists(cell / "error.json")) << function;
    EXPECT_NE(json(cell / "error.json")["message"].get<std::string>().find(expected), std::string::npos) << function;
    if (std::string(function) == "raises") {
      const std::string log = read_file(cell / "log.txt");
      EXPECT_NE(log.find("Traceback (most recent call last)"), std::string::npos) << log;
      EXPECT_NE(log.find("in helper_that_fails"), std::string::npos) << log;
      EXPECT_EQ(r.output.find("Traceback"), std::string::npos) << "the traceback goes to log.txt only:\n" << r.output;
    }
  }
  // Loading failures are the cell's too.
  for (const auto& [file, expected] :
       {std::pair<std::string, std::string>{"syntax_error.py", "raised SyntaxError: expected ':'"},
        std::pair<std::string, std::string>{"import_error.py",
                                            "raised ModuleNotFoundError: No module named 'module_that_does_not_exist'"}}) {
    write_config("bad", (kSource / "tests/augmentations/python" / file).string(), "augment");
    const Result r = frerec("--threads 2 --results-dir bad_" + file + " run bad.yaml", dir_);
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("python method: loading '" + (kSource / "tests/augmentations/python" / file).string() +
                            "' " + expected),
              std::string::npos)
        << r.output;
  }
  // A missing file is a config error before any cell runs: exit 2, nothing written.
  write_config("bad", (dir_ / "nowhere.py").string(), "augment");
  const Result r = frerec("--threads 2 --results-dir bad_missing run bad.yaml", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("method.python.file '" + (dir_ / "nowhere.py").string() + "' not found"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "bad_missing/bad/demo_mri"));
}

// The interpreter starts only for Python cells: with a Python that cannot start (PYTHONHOME
// pointing nowhere) a RAW cell runs, and a Python cell fails.
TEST_F(CliPython, OtherMethodsNeverStartPython) {
  write_config("lazy", kMethods, "identity");
  const std::string broken = "PYTHONHOME=" + (dir_ / "no_python_here").string();
  Result r = frerec("--threads 2 --results-dir lazy run lazy.yaml method.name=raw", dir_, broken);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "lazy/lazy/demo_mri/raw/resnet18/seed=0/record.json"));
  r = frerec("--threads 2 --results-dir lazy run lazy.yaml", dir_, broken);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("python method: the embedded Python 3.11"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("could not start"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "lazy/lazy/demo_mri/python-methods/resnet18/seed=0/record.json"));
}

// The config hash covers the file's content: an edit reruns the cell, an unchanged file
// does not.
TEST_F(CliPython, EditingTheFileRerunsItsCells) {
  write_file_atomic(dir_ / "mine.py", "def augment(images, labels, rng):\n    return images, labels\n");
  write_config("edit", (dir_ / "mine.py").string(), "augment");
  Result r = frerec("--threads 2 run edit.yaml", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("1 ran, 0 skipped"), std::string::npos) << r.output;
  r = frerec("--threads 2 run edit.yaml", dir_);
  EXPECT_NE(r.output.find("0 ran, 1 skipped"), std::string::npos) << r.output;
  write_file_atomic(dir_ / "mine.py", "def augment(images, labels, rng):\n    return 1.0 - images, labels\n");
  r = frerec("--threads 2 run edit.yaml", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("1 ran, 0 skipped"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace frerec
