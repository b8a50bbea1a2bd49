// End-to-end tests: the `frerec` program on tiny configs of the embedded demo benchmark.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "datasets/demo/demo.h"
#include "framework/core/atomic_file.h"
#include "framework/core/file_lock.h"
#include "framework/io/csv.h"
#include "framework/io/image_io.h"

namespace frerec {
namespace {
namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string output;
};

// Runs the program from `cwd`, capturing stdout and stderr.
Result frerec(const std::string& args, const fs::path& cwd) {
  const std::string command = "cd '" + cwd.string() + "' && " + std::string(FREREC_BINARY_DIR) +
                              "/frerec --threads 2 " + args + " 2>&1";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) result.output += buffer.data();
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("frerec-cli-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static void write(const std::string& name, const std::string& text) { write_file_atomic(dir_ / name, text); }
  static nlohmann::json json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }
  static fs::path dir_;
};
fs::path Cli::dir_;

// A tiny demo task: 32² brain-MRI-like images, a few per class, one short epoch.
const char* kTinyBase = R"(experiment: {kind: classify}
data:
  name: demo_mri
  image_size: 32
  counts:
    train: {positive: 24, negative: 24}
    test: {positive: 16, negative: 16}
model: {name: resnet18}
train: {epochs: 1, batch_size: 16, eval_batch_size: 32, workers: 1, warmup_epochs: 0}
)";

// The shipped configs validate and list the cells the issue and README promise: Table 2
// of each paper dataset 90 cells (7 methods × 3 backbones × 5 seeds = 105 with a DoGE
// folder), the per-dataset paper suites, the quickstart and the demo suite.
TEST_F(Cli, ShippedConfigsValidateAndListTheirCells) {
  const std::string configs = std::string(FREREC_SOURCE_DIR) + "/configs/";
  auto first_line = [&](const std::string& args) {
    const Result r = frerec("run " + args + " --dry-run", dir_);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.output;
    return r.output.substr(0, r.output.find('\n'));
  };
  for (const std::string dataset : {"brain_tumor", "cardiomegaly", "dr"}) {
    EXPECT_NE(first_line(configs + "paper/" + dataset + ".yaml").find(": 90 cells"), std::string::npos) << dataset;
    EXPECT_NE(first_line(configs + "paper/" + dataset +
                         ".yaml 'method.name=[raw,autoaugment,mixup,afa,gda_external,gda,gda_frerec]' "
                         "method.gda_external.root=/data/doge")
                  .find(": 105 cells"),
              std::string::npos)
        << dataset;
    EXPECT_NE(first_line(configs + "paper/" + dataset + "_all.yaml").find("suite 'paper_" + dataset + "': 106 cells"),
              std::string::npos)
        << dataset;
  }
  EXPECT_NE(first_line(configs + "quickstart.yaml").find("'quickstart' (classify): 18 cells"), std::string::npos);
  EXPECT_NE(first_line(configs + "demo/full.yaml").find("suite 'demo': 291 cells"), std::string::npos);
  EXPECT_NE(first_line(configs + "demo/positive_control.yaml").find("suite 'positive_control': 234 cells"),
            std::string::npos);
  // The dry run shows each cell's budget: the paper's configs count epochs (so GDA takes
  // more optimiser steps than RAW), the demo's give every method the same steps.
  Result r = frerec("run " + configs + "paper/brain_tumor.yaml --dry-run", dir_);
  EXPECT_NE(r.output.find("  budget: epochs (train.epochs) pass over each cell's own training set"), std::string::npos)
      << r.output;
  r = frerec("run " + configs + "demo/full.yaml --dry-run", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("budget: epochs"), std::string::npos) << r.output;
  std::size_t equal = 0;
  for (auto at = r.output.find(" steps in every cell (train.steps)"); at != std::string::npos;
       at = r.output.find(" steps in every cell (train.steps)", at + 1))
    ++equal;
  EXPECT_EQ(equal, 3u) << r.output;  // Table 2, Table 3 and the figures' extractor
  r = frerec("run " + configs + "demo/learning_curve.yaml --dry-run --json", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["cells"][0]["budget"], "125 steps") << r.output;
}

// The positive control end to end on a tiny demo_mri (one seed, one epoch, a 2-step DAE):
// the oracle and the three biased pools train, and positive_control.md has every row with its
// gaps and a recovery entry.
TEST_F(Cli, PositiveControlRunsAndReportsRecovery) {
  const std::string overrides =
      " 'seed=[0]' 'data.name=[demo_mri]' data.image_size=32 data.counts.train.positive=24"
      " data.counts.train.negative=24 data.counts.test.positive=16 data.counts.test.negative=16"
      " data.counts.synthetic.positive=24 data.counts.synthetic.negative=24 train.steps=0 train.epochs=1 train.batch_size=16"
      " train.warmup_epochs=0 train.warmup_steps=0";
  std::string dae;
  for (const char* variant : {"gda_frerec", "gda_rhm"})
    dae += fmt::format(" method.{0}.dae.epochs=1 method.{0}.dae.steps_per_epoch=2 method.{0}.dae.patch_size=32", variant);
  const Result r = frerec("--results-dir pc run " + std::string(FREREC_SOURCE_DIR) +
                              "/configs/demo/positive_control.yaml" + overrides + dae,
                          dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("13 ran, 0 skipped (done), 0 failed"), std::string::npos) << r.output;
  const std::string table = read_file(dir_ / "pc/positive_control/positive_control.md");
  for (const char* group : {"| demo_mri / densenet_small / checkerboard | oracle (unbiased pool) |",
                            "| demo_mri / densenet_small / blur | oracle (unbiased pool) |",
                            "| demo_mri / densenet_small / hf_noise | oracle (unbiased pool) |"})
    EXPECT_NE(table.find(group), std::string::npos) << group << "\n" << table;
  for (const char* row : {"| GDA (biased pool) |", "| SHR |", "| RHM w. FESA |", "| FreRec |"}) {
    std::size_t count = 0;
    for (auto at = table.find(row); at != std::string::npos; at = table.find(row, at + 1)) ++count;
    EXPECT_EQ(count, 3u) << row << "\n" << table;
  }
  const auto record = json(dir_ / "pc/positive_control/demo_mri/gda_frerec/densenet_small/"
                                  "data.synthetic.known_bias.operator=blur/seed=0/record.json");
  EXPECT_GT(record["metrics"]["spectral_gap_before"].get<double>(), 0.0);
  EXPECT_EQ(record["extra"]["method"]["synthetic_generator"], "known_bias:blur");
}

TEST_F(Cli, HelpVersionAndInfo) {
  const Result help = frerec("--help", dir_);
  EXPECT_EQ(help.code, 0);
  for (const char* sub : {"run", "report", "calibrate", "spectra", "info", "cache"})
    EXPECT_NE(help.output.find(sub), std::string::npos) << sub;
  // What this build can do: LibTorch and whether it has CUDA, library versions.
  const std::string version = frerec("--version", dir_).output;
  for (const char* part : {"frerec 0.", "LibTorch ", "OpenCV ", "FFTW ", "HDF5 ", "CPU cores"})
    EXPECT_NE(version.find(part), std::string::npos) << part << "\n" << version;
  EXPECT_TRUE(version.find("CPU only (built without CUDA)") != std::string::npos ||
              version.find("built with CUDA") != std::string::npos)
      << version;
  EXPECT_EQ(frerec("info system", dir_).output, version);
  if (version.find("CPU only") != std::string::npos) {
    // --device cuda on a CPU-only LibTorch: one line saying so and where to read on.
    write("tiny.yaml", kTinyBase);
    const Result cuda = frerec("--device cuda run tiny.yaml", dir_);
    EXPECT_EQ(cuda.code, 2) << cuda.output;
    EXPECT_EQ(std::count(cuda.output.begin(), cuda.output.end(), '\n'), 1) << cuda.output;
    EXPECT_NE(cuda.output.find("has no CUDA support"), std::string::npos) << cuda.output;
    EXPECT_NE(cuda.output.find("README section \"GPUs\""), std::string::npos) << cuda.output;
  }
  const Result info = frerec("info", dir_);
  for (const char* kind : {"datasets:", "methods:", "models:", "metrics:", "experiments:"})
    EXPECT_NE(info.output.find(kind), std::string::npos) << kind;
  struct Count {
    const char* model;
    const char* expected;
  };
  for (const Count& c : {Count{"resnet50", "parameters: 25557032"}, Count{"densenet121", "parameters: 7978856"},
                         Count{"vit_b_16", "parameters: 86567656"}}) {
    const Result r = frerec(std::string("info models ") + c.model + " in_channels=3 num_classes=1000", dir_);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
  }
  EXPECT_NE(frerec("info models restormer", dir_).output.find("parameters: 26126644"), std::string::npos);
}

TEST_F(Cli, ConfigErrorsAreOneLineWithExitCode2) {
  write("typo.yaml", std::string(kTinyBase) + "train_x: 1\n");
  Result r = frerec("run typo.yaml --dry-run", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("frerec: error: typo.yaml:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did you mean 'train'?"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  write("tiny.yaml", kTinyBase);
  r = frerec("run tiny.yaml train.epohcs=2", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("did you mean 'train.epochs'?"), std::string::npos) << r.output;
  r = frerec("run tiny.yaml model.name=resnet51 --dry-run", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("did you mean 'resnet50'?"), std::string::npos) << r.output;
  r = frerec("run missing.yaml", dir_);
  EXPECT_EQ(r.code, 2);
  r = frerec("run tiny.yaml --cell 7", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  // A negative cell index is refused as such, and --dry-run checks --cell like a run does.
  r = frerec("run tiny.yaml --cell -1", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--cell -1 is not a cell index"), std::string::npos) << r.output;
  r = frerec("run tiny.yaml --dry-run --cell 99", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--cell 99: the grid has"), std::string::npos) << r.output;
  // What a config alone reveals stops the run before any cell: one line,
  // exit 2, no results folder.
  for (const auto& [overrides, expected] : std::vector<std::pair<std::string, std::string>>{
           {"train.warmup_epochs=3", "warmup_epochs=3 must be in [0, epochs=1]"},
           {"data.name=brain_tumor_kaggle", "brain_tumor_kaggle: data.root is empty"},
           {"data.synthetic.name=synthetic_folder", "synthetic_folder: data.synthetic.root is empty"},
           // The demo generator's version is read-only (only this build's renderer exists).
           {"data.demo_mri.version=2", "'data.demo_mri.version' = 2 is out of range"}}) {
    r = frerec("--results-dir early run tiny.yaml " + overrides, dir_);
    EXPECT_EQ(r.code, 2) << overrides << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "early")) << overrides;
  }
  // Logs and errors go to stderr, results to stdout: a cell that fails at
  // run time (a data.root that is not a folder) leaves its error out of stdout.
  r = frerec("run tiny.yaml data.name=image_folder data.root=no_such_folder > split.out 2> split.err; exit $?", dir_);
  EXPECT_EQ(r.code, 1) << r.output;
  const std::string out = read_file(dir_ / "split.out"), err = read_file(dir_ / "split.err");
  EXPECT_NE(out.find("tiny: 0 ran, 0 skipped (done), 1 failed"), std::string::npos) << out;
  EXPECT_EQ(out.find("no_such_folder"), std::string::npos) << out;
  EXPECT_EQ(out.find("] info "), std::string::npos) << "logs on stdout: " << out;
  EXPECT_NE(err.find("failed: image_folder/raw/resnet18/seed=0: image_folder: data.root='no_such_folder' is not a directory"),
            std::string::npos)
      << err;
  const std::string runs = read_file(dir_ / "results/tiny/runs.csv");  // the failed cell, with its error line
  EXPECT_NE(runs.find("0,image_folder/raw/resnet18/seed=0,failed,"), std::string::npos) << runs;
  EXPECT_NE(runs.find("data.root='no_such_folder' is not a directory"), std::string::npos) << runs;
  // Hydra's sweep syntax beside ours: 2 methods x seeds 0..2.
  r = frerec("run tiny.yaml 'seed=range(0,3)' method.name=raw,mixup --dry-run", dir_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(classify): 6 cells"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[5] demo_mri/mixup/resnet18/seed=2"), std::string::npos) << r.output;
  // --dry-run opens the dataset and says what it found per split and class.
  r = frerec("run tiny.yaml --dry-run", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("data demo_mri: the source lists"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  train:     48 images (24 positive, 24 negative)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  test:      32 images (16 positive, 16 negative)"), std::string::npos) << r.output;
  r = frerec("run tiny.yaml data.name=brain_tumor_kaggle --dry-run", dir_);  // lists, says what is missing
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("data brain_tumor_kaggle: not opened: brain_tumor_kaggle: data.root is empty"),
            std::string::npos)
      << r.output;
  // A word that names no command is called that, after global options and their values too.
  for (const char* line : {"nonsense", "--threads 1 nonsense", "-q nonsense --fresh"}) {
    r = frerec(line, dir_);
    EXPECT_EQ(r.code, 2) << line;
    EXPECT_NE(r.output.find("frerec: error: unknown command 'nonsense' (commands: run, "), std::string::npos)
        << line << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  // A missing command is still CLI11's own line.
  r = frerec("--threads 1", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output.find("unknown command"), std::string::npos) << r.output;
}

TEST_F(Cli, TinyGridRunsResumesAndReports) {
  write("grid.yaml", std::string(kTinyBase) + "grid:\n  method.name: [raw, autoaugment, mixup, afa]\n  seed: [0, 1]\n");
  Result r = frerec("run grid.yaml --dry-run", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[7] demo_mri/afa/resnet18/seed=1"), std::string::npos) << r.output;

  r = frerec("run grid.yaml", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("8 ran, 0 skipped"), std::string::npos) << r.output;
  const fs::path root = dir_ / "results/grid";
  for (const char* cell : {"demo_mri/raw/resnet18/seed=0", "demo_mri/autoaugment/resnet18/seed=0",
                           "demo_mri/mixup/resnet18/seed=1", "demo_mri/afa/resnet18/seed=1"}) {
    const auto record = json(root / cell / "record.json");
    EXPECT_EQ(record["status"], "ok");
    const double auc = record["metrics"]["auc"];
    EXPECT_GE(auc, 0.0);
    EXPECT_LE(auc, 1.0);
    EXPECT_EQ(record["metrics"]["test_images"], 32);
    EXPECT_TRUE(record["environment"]["libraries"].contains("libtorch"));
    EXPECT_TRUE(record["environment"]["libraries"].contains("libtorch_cuda"));  // "none" on a CPU-only build
    EXPECT_TRUE(fs::exists(root / cell / "predictions.csv"));
    EXPECT_TRUE(fs::exists(root / cell / "train_log.jsonl"));
    // The demo generator's version is in the cell's config, hence in its hash: cells made
    // with an older renderer are rerun on resume, not taken for done.
    EXPECT_EQ(YAML::LoadFile((root / cell / "config.yaml").string())["data"]["demo_mri"]["version"].as<int>(),
              datasets::demo::kMriVersion);
  }
  const std::string table = read_file(root / "table2.md");
  EXPECT_NE(table.find("| demo_mri / resnet18 | raw |"), std::string::npos) << table;
  for (const char* method : {"| autoaugment |", "| mixup |", "| afa |"})
    EXPECT_NE(table.find(method), std::string::npos) << table;

  // Resume: everything is done; report is idempotent.
  r = frerec("run grid.yaml", dir_);
  EXPECT_NE(r.output.find("0 ran, 8 skipped"), std::string::npos) << r.output;
  r = frerec("report results/grid", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(root / "table2.md"), table);
  // Same seed, same config → identical metrics (determinism on CPU).
  r = frerec("run grid.yaml --cell 0 --fresh --results-dir again", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json(dir_ / "again/grid/demo_mri/raw/resnet18/seed=0/record.json")["metrics"]["auc"],
            json(root / "demo_mri/raw/resnet18/seed=0/record.json")["metrics"]["auc"]);
  // A record.json cut short is named by report, not silently dropped.
  const fs::path cut = root / "demo_mri/mixup/resnet18/seed=1/record.json";
  const std::string whole = read_file(cut);
  write("results/grid/demo_mri/mixup/resnet18/seed=1/record.json", whole.substr(0, whole.size() / 2));
  r = frerec("report results/grid", dir_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("mixup/resnet18/seed=1/record.json' is not a readable record"), std::string::npos)
      << r.output;
  write("results/grid/demo_mri/mixup/resnet18/seed=1/record.json", whole);
  // runs.csv: one row per cell, resolved config keys flattened, metrics, status.
  const std::string runs = read_file(root / "runs.csv");
  const std::string header = runs.substr(0, runs.find('\n'));
  for (const char* column : {"index,cell,status,config_hash", "train.lr", "method.name", "metrics.auc", "wall_seconds",
                             "git_commit", "git_dirty"})
    EXPECT_NE(header.find(column), std::string::npos) << column << "\n" << header;
  EXPECT_EQ(std::count(runs.begin(), runs.end(), '\n'), 9) << runs;  // header + 8 cells
  EXPECT_NE(runs.find("\n0,demo_mri/raw/resnet18/seed=0,ok,"), std::string::npos) << runs;
  // The cache holds the image sets; `cache ls` shows them.
  r = frerec("cache ls", dir_);
  EXPECT_NE(r.output.find("images"), std::string::npos) << r.output;
}

// Exports demo images as a folder tree (real/<split>/<class>/*.png).
void export_demo(const fs::path& dir, const std::string& out, int seed) {
  const Result r = frerec("datasets export demo_mri --out " + out + " image_size=32 data_seed=" + std::to_string(seed) +
                              " counts.train.positive=24 counts.train.negative=24 counts.test.positive=8"
                              " counts.test.negative=8",
                          dir);
  ASSERT_EQ(r.code, 0) << r.output;
}

// "Synthetic" stand-ins with generator-like spectral artefacts: each real image is
// downsampled 2x, upsampled with nearest neighbours and given a faint checkerboard (the
// transposed-convolution signature), so their high frequencies differ from real images'.
void write_artefacted_copies(const fs::path& real_dir, const fs::path& out) {
  for (const auto& path : io::list_images(real_dir, true)) {
    Image im = io::read_image(path).image;
    Image fake(im.channels, im.height, im.width);
    for (int c = 0; c < im.channels; ++c)
      for (int y = 0; y < im.height; ++y)
        for (int x = 0; x < im.width; ++x) {
          const int y0 = y & ~1, x0 = x & ~1;
          float v = 0.25f * (im.at(c, y0, x0) + im.at(c, y0 + 1, x0) + im.at(c, y0, x0 + 1) + im.at(c, y0 + 1, x0 + 1));
          v += ((x + y) % 2 == 0 ? 0.04f : -0.04f);
          fake.at(c, y, x) = std::min(1.0f, std::max(0.0f, v));
        }
    const fs::path target = out / fs::relative(path, real_dir);
    fs::create_directories(target.parent_path());
    io::write_png(target, fake, 8);
  }
}

// A tiny auto-encoder and SHR settings so CPU tests take seconds.
const std::vector<std::string> kTinyFreRec = {
    "shr.k=8", "dae.epochs=2", "dae.batch_size=8", "dae.patch_size=16", "dae.network.dim=8",
    "dae.network.num_blocks=[1,1,1,1]", "dae.network.num_refinement_blocks=1", "dae_val_images=8"};

std::string tiny_frerec(const std::string& prefix) {
  std::string out;
  for (const auto& kv : kTinyFreRec) out += " " + prefix + kv;
  return out;
}

TEST_F(Cli, CalibrateSpectraAndImageQuality) {
  export_demo(dir_, "demo_export", 3);
  write_artefacted_copies(dir_ / "demo_export/train", dir_ / "fake");
  // SHR only.
  Result r = frerec("calibrate --stage shr --real demo_export/train --synthetic fake --out cal_shr shr.k=8", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  auto summary = json(dir_ / "cal_shr/calibration.json");
  EXPECT_EQ(summary["images"], 48);
  EXPECT_TRUE(fs::exists(dir_ / "cal_shr/positive"));
  const double before = summary["spectral_gap"]["before"]["high_band"];
  const double after_shr = summary["spectral_gap"]["after"]["high_band"];
  EXPECT_GT(before, 0.02) << "the artefacted copies must differ spectrally";
  EXPECT_LT(after_shr, before) << r.output;

  // Full FreRec: trains the tiny auto-encoder (saved for reuse), then calibrates.
  r = frerec("calibrate --real demo_export/train --synthetic fake --out cal_full" + tiny_frerec(""), dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  summary = json(dir_ / "cal_full/calibration.json");
  EXPECT_TRUE(fs::exists(dir_ / "cal_full/dae_checkpoint.pt"));
  const double after_full = summary["spectral_gap"]["after"]["high_band"];
  EXPECT_LT(after_full, before) << r.output;
  EXPECT_GT(summary["output_vs_input"]["psnr_mean"].get<double>(), 15.0) << r.output;
  // Reusing the checkpoint gives the same images (the calibration cache or a recomputation).
  r = frerec("calibrate --real demo_export/train --synthetic fake --out cal_again --checkpoint cal_full/dae_checkpoint.pt "
             "shr.k=8",
             dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(dir_ / "cal_again/positive/" / fs::directory_iterator(dir_ / "cal_full/positive")->path().filename()),
            read_file(fs::directory_iterator(dir_ / "cal_full/positive")->path()));

  // Spectra figures and gaps.
  r = frerec("spectra --real demo_export/train --synthetic fake --calibrated cal_full --out spectra", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* f : {"mean_log_spectra.png", "mean_log_spectra.svg", "spectral_profiles.png", "spectra.json"})
    EXPECT_TRUE(fs::exists(dir_ / "spectra" / f)) << f;
  const auto spectra = json(dir_ / "spectra/spectra.json");
  EXPECT_NEAR(spectra["spectral_gap"]["synthetic"]["high_band"].get<double>(), before, 1e-9);

  // Image quality of two folders matched by name.
  r = frerec("metrics image-quality --reference fake --test cal_shr --json", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output.substr(r.output.find('{')))["pairs"], 48);

  // Bad input: mismatched sizes name both shapes; one line, non-zero exit.
  fs::create_directories(dir_ / "big");
  io::write_png(dir_ / "big/a.png", Image(1, 40, 40, 0.5f), 8);
  r = frerec("calibrate --stage shr --real demo_export/train --synthetic big --out bad", dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("1x32x32"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1x40x40 ('a.png')"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--size"), std::string::npos) << "calibrate has no --size: " << r.output;
  // Mixed sizes inside one folder are named by file; spectra offers --size.
  io::write_png(dir_ / "big/b.png", Image(1, 48, 48, 0.5f), 8);
  r = frerec("spectra --real big --synthetic big --out bad_spectra", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--real: images of different shapes: 'a.png' is 1x40x40 but 'b.png' is 1x48x48; pass --size"),
            std::string::npos)
      << r.output;
}

TEST_F(Cli, GdaAndFreRecCellsUseTheSyntheticPool) {
  export_demo(dir_, "synth_export", 11);
  std::string text = kTinyBase;
  text.insert(text.find("model:"), "  synthetic: {name: synthetic_folder, root: synth_export/train, generator: demo11}\n");
  text.insert(text.find("  counts:") + 10, "    synthetic: {positive: 16, negative: 16}\n");
  write("gda.yaml", text);
  export_demo(dir_, "external_export", 13);
  const std::string overrides = " method.name=[gda,gda_external,gda_frerec] method.gda_external.root=external_export/train"
                                " method.gda_external.generator=DoGE-standin" + tiny_frerec("method.gda_frerec.");
  Result r = frerec("run gda.yaml" + overrides, dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto gda = json(dir_ / "results/gda/demo_mri/gda/resnet18/seed=0/record.json");
  EXPECT_EQ(gda["extra"]["method"]["train_synthetic"], 32) << gda.dump(2);
  const auto external = json(dir_ / "results/gda/demo_mri/gda_external/resnet18/seed=0/record.json");
  EXPECT_EQ(external["extra"]["method"]["train_synthetic"], 32) << external.dump(2);
  EXPECT_EQ(external["extra"]["method"]["synthetic_generator"], "DoGE-standin") << external.dump(2);
  const auto frerec_record = json(dir_ / "results/gda/demo_mri/gda_frerec/resnet18/seed=0/record.json");
  EXPECT_EQ(frerec_record["extra"]["method"]["train_synthetic"], 32);
  EXPECT_EQ(frerec_record["extra"]["method"]["frerec"]["stage"], "full");
  EXPECT_EQ(frerec_record["extra"]["method"]["frerec"]["calibrated"].size(), 3u);
  // The second run reuses the cached auto-encoder and calibrated images.
  r = frerec("run gda.yaml --fresh -v" + overrides, dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("training the RHM auto-encoder"), std::string::npos) << r.output;
}

// A tiny suite: Table 2 (raw, gda, gda_frerec), Table 3 (the ablation variants) and the
// figures of one demo task, sharing one results folder.
const char* kTinyFreRecYaml = R"(    shr: {k: 8}
    dae: {epochs: 2, batch_size: 8, patch_size: 16, network: {dim: 8, num_blocks: [1, 1, 1, 1], num_refinement_blocks: 1}}
    dae_val_images: 8
)";

std::string tiny_suite_part(const std::string& synthetic_root) {
  std::string text = kTinyBase;
  text.insert(text.find("model:"), "  synthetic: {name: synthetic_folder, root: " + synthetic_root + ", generator: stand-in}\n");
  text.insert(text.find("  counts:") + 10, "    synthetic: {positive: 16, negative: 16}\n");
  text.replace(text.find("epochs: 1"), 9, "epochs: 2");
  text += "method:\n";
  for (const char* m : {"gda_frerec", "gda_shr", "gda_rhm", "gda_rhm_restormer"}) text += std::string("  ") + m + ":\n" + kTinyFreRecYaml;
  return text;
}

TEST_F(Cli, SuiteRunsTable2Table3AndFiguresThenReportsIdempotently) {
  export_demo(dir_, "suite_real", 21);
  write_artefacted_copies(dir_ / "suite_real/train", dir_ / "suite_fake");
  write("t2.yaml", tiny_suite_part("suite_fake") + "grid:\n  method.name: [raw, gda, gda_lowpass, gda_frerec]\n  seed: [0, 1]\n");
  write("t3.yaml", "_base_: [t2.yaml]\ngrid:\n  method.name: [gda_shr, gda_rhm_restormer, gda_rhm, gda_frerec]\n");
  write("figs.yaml", "_base_: [t2.yaml]\nexperiment:\n  kind: figures\n  figures: {tsne: {iterations: 300}}\n"
                     "method: {name: gda_frerec}\ngrid:\n  _delete_: true\n  seed: [0]\n");
  write("suite.yaml", "suite:\n  name: tiny\n  parts: [t2.yaml, t3.yaml, figs.yaml]\n");

  // 8 Table 2 cells + 8 Table 3 cells (2 shared with Table 2) + 1 figures cell.
  Result r = frerec("run suite.yaml --dry-run", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("suite 'tiny': 15 cells"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[14] figures/demo_mri/gda_frerec/resnet18/seed=0"), std::string::npos) << r.output;

  r = frerec("run suite.yaml", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tiny: 15 ran, 0 skipped"), std::string::npos) << r.output;
  const fs::path root = dir_ / "results/tiny";
  for (const char* plan : {"plan.t2.json", "plan.t3.json", "plan.figs.json"}) EXPECT_TRUE(fs::exists(root / plan)) << plan;

  EXPECT_EQ(json(root / "demo_mri/gda_lowpass/resnet18/seed=1/record.json")["extra"]["method"]["lowpass_sigma"], 0.8);
  // Table 3 rows carry PSNR/SSIM of the calibrated synthetic images.
  const auto shr = json(root / "demo_mri/gda_shr/resnet18/seed=0/record.json");
  EXPECT_GT(shr["metrics"]["psnr"].get<double>(), 10.0) << shr.dump(2);
  EXPECT_GT(shr["metrics"]["ssim"].get<double>(), 0.0);
  EXPECT_LT(shr["metrics"]["spectral_gap_after"].get<double>(), shr["metrics"]["spectral_gap_before"].get<double>());
  const std::string table2 = read_file(root / "table2.md");
  for (const char* row : {"| raw |", "| gda |", "| gda_lowpass |", "| gda_frerec |"}) EXPECT_NE(table2.find(row), std::string::npos) << table2;
  EXPECT_EQ(table2.find("gda_shr"), std::string::npos) << "ablation rows belong to Table 3:\n" << table2;
  // The note states the smallest Wilcoxon p the seeds allow: 2 / 2^n for n = 2 paired seeds.
  EXPECT_NE(table2.find("with 2 paired seeds its smallest possible p is 0.5)"), std::string::npos) << table2;
  const std::string table3 = read_file(root / "table3.md");
  for (const char* row : {"| SHR |", "| RHM w.o. FESA |", "| RHM w. FESA |", "| FreRec |", "PSNR", "ΔAUC"})
    EXPECT_NE(table3.find(row), std::string::npos) << row << "\n" << table3;
  EXPECT_TRUE(table3.find("↑") != std::string::npos || table3.find("↓") != std::string::npos) << table3;

  // The figures cell: metrics before/after and the three figures.
  const auto figures = json(root / "figures/demo_mri/gda_frerec/resnet18/seed=0/record.json");
  for (const char* key : {"probe_auc_before", "probe_auc_after", "frechet_before", "frechet_after", "precision_before",
                          "recall_after", "spectral_gap_before", "spectral_gap_after", "extractor_auc"})
    EXPECT_TRUE(figures["metrics"].contains(key)) << key << "\n" << figures.dump(2);
  EXPECT_EQ(figures["metrics"]["extractor"], "resnet18");
  for (const char* f : {"figures/fig1_mean_log_spectra.png", "figures/fig6_spectral_profiles.svg",
                        "figures/fig7_tsne.png", "figures.md", "table2.tex", "table3.csv"})
    EXPECT_TRUE(fs::exists(root / f)) << f;

  // Resume skips everything; `report` rebuilds the same files from the records alone.
  r = frerec("run suite.yaml", dir_);
  EXPECT_NE(r.output.find("tiny: 0 ran, 15 skipped"), std::string::npos) << r.output;
  const std::string figures_md = read_file(root / "figures.md");
  const std::string fig7 = read_file(root / "figures/fig7_tsne.svg");
  for (const char* f : {"table2.md", "table3.md", "figures.md", "figures/fig7_tsne.svg"}) fs::remove(root / f);
  r = frerec("report results/tiny", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(root / "table2.md"), table2);
  EXPECT_EQ(read_file(root / "table3.md"), table3);
  EXPECT_EQ(read_file(root / "figures.md"), figures_md);
  EXPECT_EQ(read_file(root / "figures/fig7_tsne.svg"), fig7);

  // A grid killed mid-run resumes to the same Table 2 as the uninterrupted run.
  // Killed as soon as the second cell has saved its first epoch (mid-training).
  const std::string first_cell = "killed/t2/demo_mri/raw/resnet18/seed=0/record.json";
  const std::string mid_cell = "killed/t2/demo_mri/raw/resnet18/seed=1/checkpoints/last.pt";
  const std::string kill = "cd '" + dir_.string() + "' && (" + std::string(FREREC_BINARY_DIR) +
                           "/frerec --threads 2 -q --results-dir killed run t2.yaml > /dev/null 2>&1 & pid=$!; "
                           "while [ ! -f '" + mid_cell + "' ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done; "
                           "kill -9 $pid; wait $pid) > /dev/null 2>&1";
  std::system(kill.c_str());
  ASSERT_TRUE(fs::exists(dir_ / first_cell));
  r = frerec("--results-dir killed run t2.yaml", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("skipped (done)"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir_ / "killed/t2/table2.csv"), read_file(root / "table2.csv"));

  // Bad suite files: one clear line, exit 2.
  write("bad_suite.yaml", "suite:\n  name: bad\n  part: [t2.yaml]\n");
  r = frerec("run bad_suite.yaml", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean 'suite.parts'"), std::string::npos) << r.output;
  write("missing_suite.yaml", "suite:\n  parts: [nope.yaml]\n");
  r = frerec("run missing_suite.yaml", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("nope.yaml"), std::string::npos) << r.output;
  // The figures kind needs a frequency calibration as its method.
  r = frerec("run figs.yaml method.name=mixup", dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("not a frequency calibration"), std::string::npos) << r.output;
}

// Lines of output (an error is one line).
std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// `cache clear` removes only what the cache wrote; `cache ls` lists only that.
TEST_F(Cli, CacheClearKeepsTheUsersFiles) {
  Result r = frerec("--cache-dir own_cache datasets export demo_mri --out own_export image_size=32 "
                    "counts.train.positive=4 counts.train.negative=4 counts.test.positive=2 counts.test.negative=2",
                    dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  std::vector<fs::path> artifacts;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "own_cache"))
    if (entry.path().extension() == ".h5") artifacts.push_back(entry.path());
  ASSERT_FALSE(artifacts.empty());
  fs::create_directories(dir_ / "own_cache/mydata");
  fs::copy_file(artifacts.front(), dir_ / "own_cache/mydata/data.h5");  // the user's copy
  fs::copy_file(artifacts.front(), dir_ / "own_cache/results.h5");
  r = frerec("--cache-dir own_cache/ cache ls", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(fmt::format("{} artifacts", artifacts.size())), std::string::npos) << r.output;
  r = frerec("--cache-dir own_cache/ cache clear", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(fmt::format("removed {} artifact file", artifacts.size())), std::string::npos) << r.output;
  for (const auto& path : artifacts) EXPECT_FALSE(fs::exists(path)) << path;
  EXPECT_TRUE(fs::exists(dir_ / "own_cache/mydata/data.h5"));
  EXPECT_TRUE(fs::exists(dir_ / "own_cache/results.h5"));
  r = frerec("--cache-dir own_cache cache ls", dir_);
  EXPECT_NE(r.output.find("is empty"), std::string::npos) << r.output;
}

// experiment.name (and suite.name) must be one plain folder below the results folder.
TEST_F(Cli, ExperimentNameMustBeAPlainFolderName) {
  write("tiny.yaml", kTinyBase);
  const std::vector<std::string> names = {"..", "../up", ".", (dir_ / "elsewhere").string(), "a/b"};
  for (const std::string& name : names) {
    // ".." runs for real: nothing may land in the test folder above `named`.
    const std::string dry_run = name == ".." ? "" : " --dry-run";
    const Result r = frerec("--results-dir named run tiny.yaml experiment.name=" + name + dry_run, dir_);
    EXPECT_EQ(r.code, 2) << name << "\n" << r.output;
    EXPECT_EQ(lines(r.output), 1u) << r.output;
    EXPECT_NE(r.output.find("experiment.name '" + name + "' must be a plain folder name"), std::string::npos) << r.output;
  }
  for (const char* stray : {"plan.json", "elsewhere", "named"}) EXPECT_FALSE(fs::exists(dir_ / stray)) << stray;
  write("slash_suite.yaml", "suite:\n  name: a/b\n  parts: [tiny.yaml]\n");
  const Result r = frerec("run slash_suite.yaml --dry-run", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("suite.name 'a/b' must be a plain folder name"), std::string::npos) << r.output;
}

// A cell rerun under another config is not averaged with the others: Table 2 uses only the
// records of the current plan and says how many it left out.
TEST_F(Cli, ReportUsesOnlyRecordsOfTheCurrentPlan) {
  write("mixed.yaml", std::string(kTinyBase) + "grid:\n  method.name: [raw]\n  seed: [0, 1]\n");
  Result r = frerec("run mixed.yaml", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path root = dir_ / "results/mixed";
  auto raw_row = [&] {
    const std::string table = read_file(root / "table2.md");
    const auto start = table.find("| raw |");
    return start == std::string::npos ? table : table.substr(start, table.find('\n', start) - start);
  };
  EXPECT_EQ(raw_row().substr(raw_row().size() - 5), "| 2 |") << raw_row();
  r = frerec("run mixed.yaml --cell 0 train.epochs=2", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  r = frerec("report results/mixed", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(raw_row().substr(raw_row().size() - 5), "| 1 |") << raw_row();
  const std::string table = read_file(root / "table2.md");
  EXPECT_NE(table.find("1 record left out: made under another configuration than the current plan"), std::string::npos)
      << table;
}

// 16x16 gray images with a different pattern each, stored as PNG whatever the name's
// extension (images are decoded by content).
void write_images(const fs::path& dir, const std::vector<std::string>& names, int seed) {
  fs::create_directories(dir);
  for (std::size_t n = 0; n < names.size(); ++n) {
    Image image(1, 16, 16);
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x)
        image.at(0, y, x) = static_cast<float>((x * 7 + y * 13 + static_cast<int>(n) * 5 + seed) % 17) / 16.0f;
    io::write_png(dir / names[n], image, 8);
  }
}

// calibrate never writes into, above or over its input folders, however --out is spelled,
// nor over a file in --out that an earlier calibrate did not write.
// File and folder names that are not UTF-8 (here Latin-1 "résumé") used to
// crash calibrate (after writing the images, without a manifest), metrics --json and run with
// a JSON type error. They are stored escaped as \xNN and everything else goes on.
TEST_F(Cli, NonUtf8NamesAreStoredEscaped) {
  const std::string latin = "r\xe9sum\xe9";
  write_images(dir_ / "enc/real", {"0.png", "1.png", "2.png", "3.png"}, 1);
  write_images(dir_ / "enc/syn", {latin + "_0.png", latin + "_1.png", "2.png"}, 2);
  const std::string calibrate = "calibrate --stage shr shr.k=2 --real enc/real --synthetic enc/syn --out enc/out";
  Result r = frerec(calibrate, dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "enc/out" / (latin + "_0.png")));
  const auto manifest = json(dir_ / "enc/out/manifest.json");
  ASSERT_EQ(manifest.size(), 3u);
  EXPECT_EQ(manifest[1]["input"], "r\\xe9sum\\xe9_0.png");
  r = frerec(calibrate, dir_);  // its own earlier outputs are recognised through the escaped names
  EXPECT_EQ(r.code, 0) << r.output;
  r = frerec("metrics image-quality --reference enc/syn --test enc/out --json", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"r\\\\xe9sum\\\\xe9_1.png\""), std::string::npos) << r.output;
  // A data root and a results folder with such names.
  for (const char* label : {"positive", "negative"})
    write_images(dir_ / ("enc/d" + latin + "/") / label, {"\xe9" "0.png", "\xe9" "1.png", "\xe9" "2.png", "\xe9" "3.png"},
                 label[0]);
  write("enc.yaml", R"(experiment: {kind: classify}
data: {name: image_folder, image_size: 32, channels: 1, test_fraction: 0.25}
model: {name: resnet18}
train: {epochs: 1, batch_size: 4, eval_batch_size: 8, workers: 1, warmup_epochs: 0}
)");
  r = frerec("--results-dir 'enc/r" + latin + "' run enc.yaml 'data.root=enc/d" + latin + "'", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json(dir_ / ("enc/r" + latin) / "enc/image_folder/raw/resnet18/seed=0/record.json")["status"], "ok");
}

TEST_F(Cli, CalibrateNeverOverwritesInputsOrForeignFiles) {
  const std::vector<std::string> names = {"0000.png", "0001.png", "0002.png", "0003.png",
                                          "0004.png", "0005.png", "0006.png", "0007.png"};
  write_images(dir_ / "guard/real", names, 1);
  write_images(dir_ / "guard/syn", names, 2);
  const std::string real_bytes = read_file(dir_ / "guard/real/0003.png");
  const std::string synthetic_bytes = read_file(dir_ / "guard/syn/0003.png");
  fs::create_directory_symlink(dir_ / "guard/real", dir_ / "guard/link");
  const std::string calibrate = "calibrate --stage shr shr.k=2 --real guard/real --synthetic guard/syn --out ";
  const std::vector<std::string> outs = {"guard/real", "guard/real/", "guard/./real", "guard/syn/../real",
                                         "guard/link", (dir_ / "guard/real").string(), "guard/real/calibrated",
                                         "guard", "guard/syn", "guard/syn/calibrated"};
  for (const std::string& out : outs) {
    const Result r = frerec(calibrate + out, dir_);
    EXPECT_EQ(r.code, 2) << out << "\n" << r.output;
    EXPECT_EQ(lines(r.output), 1u) << r.output;
    EXPECT_NE(r.output.find("choose an output folder outside the input folders"), std::string::npos) << r.output;
  }
  EXPECT_EQ(read_file(dir_ / "guard/real/0003.png"), real_bytes);
  EXPECT_EQ(read_file(dir_ / "guard/syn/0003.png"), synthetic_bytes);
  for (const char* stray : {"guard/real/manifest.json", "guard/real/calibrated", "guard/syn/calibrated", "guard/manifest.json"})
    EXPECT_FALSE(fs::exists(dir_ / stray)) << stray;

  // A folder holding a file of an output's name that calibrate did not write: refused, named.
  write_images(dir_ / "guard/mine", {"0003.png"}, 3);
  const std::string mine = read_file(dir_ / "guard/mine/0003.png");
  Result r = frerec(calibrate + "guard/mine", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(lines(r.output), 1u) << r.output;
  EXPECT_NE(r.output.find("already holds '0003.png', which calibrate did not write"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir_ / "guard/mine/0003.png"), mine);
  EXPECT_FALSE(fs::exists(dir_ / "guard/mine/0000.png"));
  // So is a manifest.json that is not calibrate's.
  write("guard/theirs/manifest.json", "{\"mine\": true}\n");
  r = frerec(calibrate + "guard/theirs", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'manifest.json'"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir_ / "guard/theirs/manifest.json"), "{\"mine\": true}\n");

  // Other files may be there; rerunning into calibrate's own output folder replaces its files.
  write("guard/out/notes.txt", "mine");
  r = frerec(calibrate + "guard/out", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json(dir_ / "guard/out/calibration.json")["images"], 8);
  r = frerec(calibrate + "guard/out/", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_file(dir_ / "guard/out/notes.txt"), "mine");
}

// Input names that map to one output name each get their own file and manifest row.
TEST_F(Cli, CollidingOutputNamesGetTheirOwnFiles) {
  write_images(dir_ / "clash/real", {"r0.png", "r1.png", "r2.png", "r3.png", "r4.png", "r5.png", "r6.png", "r7.png"}, 4);
  write_images(dir_ / "clash/syn", {"a.png", "a.tif", "a.jpg", "b.bmp"}, 5);
  Result r = frerec("calibrate --stage shr shr.k=2 --real clash/real --synthetic clash/syn --out clash/out", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 4 images"), std::string::npos) << r.output;
  EXPECT_EQ(json(dir_ / "clash/out/calibration.json")["images"], 4);
  std::set<std::string> outputs;
  for (const auto& row : json(dir_ / "clash/out/manifest.json")) outputs.insert(row["output"].get<std::string>());
  EXPECT_EQ(outputs, (std::set<std::string>{"a.png", "a__jpg.png", "a__tif.png", "b.png"}));
  for (const auto& name : outputs) EXPECT_TRUE(fs::exists(dir_ / "clash/out" / name)) << name;
  EXPECT_NE(read_file(dir_ / "clash/out/a__jpg.png"), read_file(dir_ / "clash/out/a__tif.png"));

  // datasets export: ids that sanitise to one file name ("x,y" and "x_y") keep their own files.
  write_images(dir_ / "clash/src/positive", {"x,y.png", "x_y.png", "c.png", "c.jpg"}, 6);
  write_images(dir_ / "clash/src/negative", {"n0.png", "n1.png", "n2.png", "n3.png"}, 7);
  r = frerec("datasets export image_folder --out clash/export root=clash/src image_size=16 test_fraction=0.0", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string manifest = read_file(dir_ / "clash/export/manifest.csv");
  EXPECT_EQ(lines(manifest), 9u) << manifest;
  std::set<std::string> paths;
  std::istringstream rows(manifest.substr(manifest.find('\n') + 1));
  for (std::string row; std::getline(rows, row);) paths.insert(row.substr(0, row.find(',')));
  EXPECT_EQ(paths.size(), 8u) << manifest;
  for (const auto& path : paths) EXPECT_TRUE(fs::exists(dir_ / "clash/export" / path)) << path;
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "clash/export"))
    files += entry.path().extension() == ".png";
  EXPECT_EQ(files, 8u);
}

// The per-image CSV of metrics image-quality quotes file names holding a comma or a quote,
// so it reads back to the names and values the JSON reports.
TEST_F(Cli, ImageQualityCsvKeepsNamesWithCommasAndQuotes) {
  const std::vector<std::string> names = {"a,b.png", "plain.png", "say \"hi\".png"};
  write_images(dir_ / "iq/ref", names, 1);
  write_images(dir_ / "iq/test", names, 2);
  const Result r = frerec("metrics image-quality --reference iq/ref --test iq/test --csv iq/values.csv --json", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto images = nlohmann::json::parse(r.output.substr(r.output.find('{')))["images"];
  const io::CsvTable csv = io::read_csv(dir_ / "iq/values.csv");
  EXPECT_EQ(csv.header, (std::vector<std::string>{"name", "psnr", "ssim"}));
  ASSERT_EQ(csv.rows.size(), names.size()) << read_file(dir_ / "iq/values.csv");
  ASSERT_EQ(images.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(csv.rows[i][0], names[i]);
    EXPECT_EQ(csv.rows[i][0], images[i]["name"].get<std::string>());
    EXPECT_EQ(csv.rows[i][1], fmt::format("{:.6f}", images[i]["psnr"].get<double>()));
    EXPECT_EQ(csv.rows[i][2], fmt::format("{:.6f}", images[i]["ssim"].get<double>()));
  }
}

// Interpolation in files and overrides, resolved into the cell's config.yaml; bad input is
// one line naming file and line, exit 2 (framework/config/interpolation.h).
TEST_F(Cli, ConfigInterpolationFromEnvironmentAndKeys) {
  std::string text = kTinyBase;
  text.replace(text.find("experiment: {kind: classify}"), 28,
               "experiment:\n  kind: classify\n  name: interp\n  description: \"${oc.env:FREREC_CLI_DESC,none} "
               "${train.epochs} epochs\"");
  write("interp.yaml", text);
  ::setenv("FREREC_CLI_DESC", "<b>described</b>", 1);
  Result r = frerec("run interp.yaml 'data.data_seed=${oc.env:FREREC_CLI_SEED,3}'", dir_);
  ::unsetenv("FREREC_CLI_DESC");
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path cell = dir_ / "results/interp/demo_mri/raw/resnet18/seed=0";
  const YAML::Node config = YAML::LoadFile((cell / "config.yaml").string());
  EXPECT_EQ(config["experiment"]["description"].as<std::string>(), "<b>described</b> 1 epochs");
  EXPECT_EQ(config["data"]["data_seed"].as<int>(), 3);
  // The report page shows the resolved config, escaped.
  const std::string page = read_file(dir_ / "results/interp/index.html");
  EXPECT_NE(page.find("&lt;b&gt;described&lt;/b&gt; 1 epochs"), std::string::npos);
  EXPECT_EQ(page.find("<b>described"), std::string::npos);
  EXPECT_NE(page.find("id=\"table2-table\""), std::string::npos);
  EXPECT_NE(page.find("<details id=\"cell-demo-mri-raw-resnet18-seed-0\">"), std::string::npos);

  // Bad input: one line naming the file and line (or the command line), exit 2.
  std::string missing = kTinyBase;
  missing.replace(missing.find("experiment: {kind: classify}"), 28,
                  "experiment:\n  kind: classify\n  description: ${oc.env:FREREC_CLI_NOPE}");
  write("missing_env.yaml", missing);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"run missing_env.yaml --dry-run",
       "missing_env.yaml:3: experiment.description: environment variable FREREC_CLI_NOPE is not set"},
      {"run tiny.yaml 'experiment.description=${oc.env:FREREC_CLI_NOPE}' --dry-run",
       "command line: experiment.description: environment variable FREREC_CLI_NOPE is not set"},
      {"run tiny.yaml 'experiment.description=${train.epoch}' --dry-run",
       "unknown key 'train.epoch' in '${train.epoch}' (did you mean 'train.epochs'?)"},
      {"run tiny.yaml 'experiment.description=${experiment.name}' 'experiment.name=${experiment.description}' --dry-run",
       "interpolation cycle"},
      {"run tiny.yaml 'experiment.description=${oc.env:X' --dry-run", "without a closing '}'"},
  };
  write("tiny.yaml", kTinyBase);
  for (const auto& [args, expected] : bad) {
    r = frerec(args, dir_);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

// configs/paper/brain_tumor.yaml takes data.root from BRAIN_TUMOR_ROOT; data.root=PATH on
// the command line still works, and without either the dry run says the root is empty.
TEST_F(Cli, PaperConfigTakesTheDataRootFromTheEnvironment) {
  const std::string config = std::string(FREREC_SOURCE_DIR) + "/configs/paper/brain_tumor.yaml";
  const fs::path root = dir_ / "brain tumor data";
  fs::create_directories(root);
  ::setenv("BRAIN_TUMOR_ROOT", root.string().c_str(), 1);
  Result r = frerec("run " + config + " --dry-run", dir_);
  ::unsetenv("BRAIN_TUMOR_ROOT");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(": 90 cells"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(root.string()), std::string::npos) << "the dry run opens the folder it names:\n" << r.output;
  EXPECT_EQ(r.output.find("data.root is empty"), std::string::npos) << r.output;
  r = frerec("run " + config + " 'data.root=" + root.string() + "' --dry-run", dir_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(root.string()), std::string::npos) << r.output;
  r = frerec("run " + config + " --dry-run", dir_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("brain_tumor_kaggle: data.root is empty"), std::string::npos) << r.output;
}

// `frerec info` names keys by their full path with defaults as written; a key of a
// component written one level too high is pointed at its place.
TEST_F(Cli, InfoShowsFullKeyPathsAndWrittenDefaults) {
  Result r = frerec("info methods mixup", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("  method.mixup.alpha (float, default 0.2): "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("0.20000000000000001"), std::string::npos) << r.output;
  r = frerec("info models resnet50", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("  model.resnet50.pretrained ("), std::string::npos) << r.output;
  r = frerec("info experiments figures", dir_);
  EXPECT_NE(r.output.find("  experiment.figures.tsne.perplexity ("), std::string::npos) << r.output;
  r = frerec("info generators fastgan_lite", dir_);
  EXPECT_NE(r.output.find("  generator."), std::string::npos) << r.output;
  // Overrides of info are checked under the same full path.
  r = frerec("info methods mixup alph=1", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown key 'method.mixup.alph' (did you mean 'method.mixup.alpha'?)"), std::string::npos)
      << r.output;

  write("tiny.yaml", kTinyBase);
  for (const auto& [args, expected] : std::vector<std::pair<std::string, std::string>>{
           {"model.pretrained=x.safetensors", "unknown key 'model.pretrained' (did you mean 'model.resnet18.pretrained'?)"},
           {"model.name=resnet50 model.pretrained=x", "did you mean 'model.resnet50.pretrained'?"},
           {"method.name=mixup method.alpha=0.4", "unknown key 'method.alpha' (did you mean 'method.mixup.alpha'?)"},
       }) {
    r = frerec("run tiny.yaml " + args + " --dry-run", dir_);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

// Many workers and Slurm from the command line: the JSON plan, a cell locked by another
// process, `frerec status`, `frerec slurm` with and without --submit (a stand-in sbatch on
// PATH), an array task run by its script, a refused edited config, and bad options.
TEST_F(Cli, StatusSlurmAndLockedCells) {
  write("sgrid.yaml", std::string(kTinyBase) + "grid:\n  method.name: [raw]\n  seed: [0, 1]\n");
  Result r = frerec("run sgrid.yaml --dry-run --json", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto plan = nlohmann::json::parse(r.output);
  EXPECT_EQ(plan["total"], 2);
  EXPECT_EQ(plan["results_dir"], "results/sgrid");
  EXPECT_EQ(plan["cells"][1]["cell"], "demo_mri/raw/resnet18/seed=1");
  EXPECT_EQ(plan["cells"][1]["done"], false);
  r = frerec("status results/sgrid", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("is not a results folder"), std::string::npos) << r.output;

  r = frerec("slurm sgrid.yaml --max-parallel 1 --time 0:10:00", dir_);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("sgrid: 2 of 2 cells to run"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sbatch --dependency=afterany:${array%%;*} "), std::string::npos) << r.output;
  const fs::path slurm = dir_ / "results/sgrid/slurm";
  for (const char* file : {"plan.json", "array.sbatch", "report.sbatch", "submit.sh", "frerec"})
    EXPECT_TRUE(fs::exists(slurm / file)) << file;
  EXPECT_NE(read_file(slurm / "array.sbatch").find("#SBATCH --array=0-1%1\n"), std::string::npos);
  r = frerec("status results/sgrid", dir_);
  EXPECT_NE(r.output.find("sgrid: 2 cells: 0 done, 0 failed, 0 running, 2 pending"), std::string::npos) << r.output;

  // An array task, run by its script as Slurm would: cell 1 (task 1), logs appended per cell.
  const std::string task = "cd '" + dir_.string() + "' && SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_JOB_ID=7 bash " +
                           (slurm / "array.sbatch").string();
  ASSERT_EQ(std::system(task.c_str()), 0) << read_file(slurm / "logs/cell_1.err");
  EXPECT_NE(read_file(slurm / "logs/cell_1.out").find("job 7_1 on "), std::string::npos);
  r = frerec("status results/sgrid --json", dir_);
  const auto status = nlohmann::json::parse(r.output);
  EXPECT_EQ(status["counts"]["done"], 1) << r.output;
  EXPECT_EQ(status["cells"][1]["state"], "done") << r.output;

  // Another process holds cell 0: a second run skips it and names the holder.
  {
    fs::create_directories(dir_ / "results/sgrid/demo_mri/raw/resnet18/seed=0");
    FileLock held(dir_ / "results/sgrid/demo_mri/raw/resnet18/seed=0/cell.lock", false, "test");
    ASSERT_TRUE(held.held());
    held.write_owner("pid 999 on elsewhere");
    r = frerec("run sgrid.yaml", dir_);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("0 ran, 1 skipped (done), 1 running in another process, 0 failed"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("cell 0 is running in another process (pid 999 on elsewhere)"), std::string::npos)
        << r.output;
    r = frerec("status results/sgrid", dir_);
    EXPECT_NE(r.output.find("[0] demo_mri/raw/resnet18/seed=0  running: pid 999 on elsewhere"), std::string::npos)
        << r.output;
  }

  // --submit with a stand-in sbatch: job ids parsed, the report job depends on the array.
  write("bin/sbatch", "#!/bin/sh\necho \"$@\" >> \"" + (dir_ / "sbatch_calls.txt").string() +
                          "\"\nif [ -f \"" + (dir_ / "fail_sbatch").string() +
                          "\" ]; then echo 'sbatch: error: invalid partition specified: nope' >&2; exit 1; fi\n"
                          "n=$(wc -l < \"" + (dir_ / "sbatch_calls.txt").string() + "\")\necho \"$((4240 + n));cluster\"\n");
  fs::permissions(dir_ / "bin/sbatch", fs::perms::owner_all);
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  setenv("PATH", ((dir_ / "bin").string() + ":" + path).c_str(), 1);
  r = frerec("slurm sgrid.yaml --submit", dir_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("sgrid: 1 of 2 cells to run"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("submitted array job 4241 (1 tasks) and report job 4242 (afterany:4241)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(read_file(dir_ / "sbatch_calls.txt").find("--parsable --dependency=afterany:4241 "), std::string::npos);
  write("fail_sbatch", "");
  r = frerec("slurm sgrid.yaml --submit --partition nope", dir_);
  setenv("PATH", path.c_str(), 1);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("frerec: error: slurm: sbatch failed (exit 1): sbatch: error: invalid partition"),
            std::string::npos)
      << r.output;

  // An edited config is refused by the array task, naming both hashes; bad options are one line.
  write("sgrid.yaml", std::string(kTinyBase) + "grid:\n  method.name: [raw]\n  seed: [0, 1, 2]\n");
  r = frerec("run sgrid.yaml --cell 0 --frozen-plan results/sgrid/slurm/plan.json", dir_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("the config changed after `frerec slurm` froze the plan"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(json(slurm / "plan.json")["config_hash"].get<std::string>()), std::string::npos) << r.output;
  for (const std::string& bad : std::vector<std::string>{"--cpus-per-cell 0", "--max-parallel -1", "--partition 'a b'", "--extra=\"$(printf 'a\\nb')\""}) {
    r = frerec("slurm sgrid.yaml " + bad, dir_);
    EXPECT_EQ(r.code, 2) << bad << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << bad << "\n" << r.output;
  }
}

}  // namespace
}  // namespace frerec
