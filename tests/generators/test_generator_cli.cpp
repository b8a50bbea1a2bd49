// `frerec generator train` + `frerec generator sample` end to end on a tiny demo task, and
// the trained file as a synthetic pool (`data.synthetic.name: gan`) of another command.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <random>

#include "framework/core/atomic_file.h"
#include "framework/io/image_io.h"

namespace frerec {
namespace {
namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string output;
};

Result frerec(const std::string& args, const fs::path& cwd) {
  const std::string command = "cd '" + cwd.string() + "' && " + std::string(FREREC_BINARY_DIR) +
                              "/frerec --threads 2 --cache-dir cache " + args + " 2>&1";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) result.output += buffer.data();
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const char* kTinyGan = R"(data:
  name: demo_mri
  image_size: 32
  counts:
    train: {positive: 16, negative: 16}
    test: {positive: 4, negative: 4}
generator:
  steps: 4
  batch_size: 4
  z_dim: 8
  embed_dim: 4
  g_width: 4
  g_max_width: 32
  d_width: 8
  d_max_width: 32
  sample_every: 2
  checkpoint_every: 2
  log_every: 1
  grid_per_class: 4
  bn_stats_batches: 2
  bn_stats_batch: 8
)";

std::vector<std::string> pngs(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& p : io::list_images(dir, true)) out.push_back(fs::relative(p, dir).generic_string());
  return out;
}

TEST(GeneratorCli, TrainResumeSampleAndUseAsSyntheticPool) {
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("frerec-gen-cli-" + std::to_string(rd()));
  fs::create_directories(dir);
  write_file_atomic(dir / "gan.yaml", kTinyGan);

  // Config errors: one line, exit 2, with a suggestion.
  Result r = frerec("generator train gan.yaml generator.stpes=3 --out gan", dir);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean 'generator.steps'?"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;

  // Train a few steps.
  r = frerec("generator train gan.yaml --out gan", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("4 steps (4 this run"), std::string::npos) << r.output;
  for (const char* file : {"generator.safetensors", "state.pt", "train_log.jsonl", "config.yaml",
                           "samples/step_0000002.png", "samples/step_0000004.png"})
    EXPECT_TRUE(fs::exists(dir / "gan" / file)) << file;
  const fs::path checkpoint = dir / "gan/generator.safetensors";
  const std::string bytes = read_file(checkpoint);
  EXPECT_NE(bytes.find("\"task\":\"demo_mri\""), std::string::npos);
  EXPECT_NE(bytes.find("generator train gan.yaml --out gan"), std::string::npos);  // the command line

  // Resume is the default: nothing left to do; more steps continue the run.
  r = frerec("generator train gan.yaml --out gan", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("4 steps (0 this run"), std::string::npos) << r.output;
  r = frerec("generator train gan.yaml --out gan generator.steps=6", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("6 steps (2 this run"), std::string::npos) << r.output;
  // Changed settings need --fresh.
  r = frerec("generator train gan.yaml --out gan generator.lr_g=0.001", dir);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--fresh"), std::string::npos) << r.output;

  // Sample: the synthetic_folder layout, deterministic per seed.
  r = frerec("generator sample --checkpoint gan/generator.safetensors --per-class 5 --out s0 --grid grid.png --with-real", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(pngs(dir / "s0").size(), 10u);
  EXPECT_TRUE(fs::exists(dir / "s0/negative/000004.png"));
  EXPECT_TRUE(fs::exists(dir / "s0/positive/000000.png"));
  EXPECT_TRUE(fs::exists(dir / "grid.png"));
  const auto record = nlohmann::json::parse(read_file(dir / "s0/generator.json"));
  EXPECT_EQ(record["task"], "demo_mri");
  EXPECT_EQ(record["per_class"], 5);
  r = frerec("generator sample --checkpoint gan/generator.safetensors --per-class 5 --out s0b", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  r = frerec("generator sample --checkpoint gan/generator.safetensors --per-class 5 --out s1 --seed 1", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const auto& name : pngs(dir / "s0")) {
    EXPECT_EQ(read_file(dir / "s0" / name), read_file(dir / "s0b" / name)) << name;
    EXPECT_NE(read_file(dir / "s0" / name), read_file(dir / "s1" / name)) << name;
  }
  // Fewer images into the same folder: the earlier extra files are removed.
  r = frerec("generator sample --checkpoint gan/generator.safetensors --per-class 2 --out s0", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(pngs(dir / "s0").size(), 4u);

  // The file as the synthetic pool of the same task; another task is refused.
  r = frerec("datasets export demo_mri --out export image_size=32 counts.train.positive=4 counts.train.negative=4 "
             "counts.test.positive=2 counts.test.negative=2 counts.synthetic.positive=3 counts.synthetic.negative=3 "
             "synthetic.name=gan synthetic.gan.checkpoint=gan/generator.safetensors",
             dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(pngs(dir / "export/synthetic").size(), 6u);
  r = frerec("datasets export demo_cxr --out export_cxr image_size=32 counts.train.positive=4 counts.train.negative=4 "
             "counts.test.positive=2 counts.test.negative=2 synthetic.name=gan "
             "synthetic.gan.checkpoint=gan/generator.safetensors",
             dir);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("trained on task 'demo_mri' but data.name is 'demo_cxr'"), std::string::npos) << r.output;
  r = frerec("datasets export demo_mri --out export64 image_size=64 counts.train.positive=4 counts.train.negative=4 "
             "counts.test.positive=2 counts.test.negative=2 synthetic.name=gan "
             "synthetic.gan.checkpoint=gan/generator.safetensors",
             dir);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("makes 32x32 images but data.image_size=64"), std::string::npos) << r.output;

  // A grid needs at least one image per class.
  r = frerec("generator sample --checkpoint gan/generator.safetensors --per-class 2 --grid g0.png --grid-per-class 0", dir);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--grid-per-class 0 must be >= 1"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "g0.png"));

  // The shipped demo generators load and sample (models/generators/checkpoints).
  for (const std::string task : {"demo_mri", "demo_cxr", "demo_fundus"}) {
    r = frerec("generator sample --checkpoint builtin:" + task + " --per-class 3 --out builtin_" + task +
                   " --grid builtin_" + task + ".png --with-real",
               dir);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(pngs(dir / ("builtin_" + task)).size(), 6u) << task;
    const auto shipped = nlohmann::json::parse(read_file(dir / ("builtin_" + task) / "generator.json"));
    EXPECT_EQ(shipped["task"], task);
    EXPECT_EQ(shipped["image_size"], 64);
    EXPECT_EQ(shipped["channels"], task == "demo_fundus" ? 3 : 1);
  }

  // `frerec info` lists the generator keys and parameter counts.
  r = frerec("info generators fastgan_lite image_size=128 channels=3", dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters: generator"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("diff_augment"), std::string::npos) << r.output;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace frerec
