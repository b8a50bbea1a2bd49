// Generator files and sampling: determinism per seed, independence of the other images
// asked for and of the thread count, errors for files of another task, size or channel
// count, and the `gan` DatasetSource (experiments/gan_source.cpp) through load_task (image
// cache included).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "datasets/dataset.h"
#include "datasets/register.h"
#include "experiments/register.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/image_io.h"
#include "models/generators/gan.h"
#include "models/generators/generator_io.h"
#include "models/generators/sampler.h"

namespace frerec::generators {
namespace {
namespace fs = std::filesystem;

class Sampling : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    experiments::register_all();  // datasets, generators and the `gan` source that joins them
    dir_ = fs::temp_directory_path() / ("frerec_generators_sampling_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Tiny random-initialised generators (training is not needed to test sampling).
    checkpoint_ = make_checkpoint("demo_mri", 32, 1, 11);
    other_ = make_checkpoint("demo_mri", 32, 1, 12);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static fs::path make_checkpoint(const std::string& task, int size, int channels, int seed) {
    GanArchitecture a;
    a.image_size = size;
    a.channels = channels;
    a.z_dim = 8;
    a.embed_dim = 4;
    a.g_width = 4;
    a.g_max_width = 32;
    a.d_width = 8;
    a.d_max_width = 32;
    at::manual_seed(seed);
    Generator g(a);
    g->recompute_batch_stats(2, 8, 0);  // realistic BN statistics, eval mode
    const fs::path path =
        dir_ / (task + "_" + std::to_string(size) + "_" + std::to_string(channels) + "_" + std::to_string(seed) + ".safetensors");
    save_generator(path, g, {{"task", task}, {"steps", "0"}, {"data_section", "name: " + task + "\nimage_size: " + std::to_string(size) + "\n"}});
    return path;
  }

  static std::vector<long> range(long begin, long end) {
    std::vector<long> v;
    for (long i = begin; i < end; ++i) v.push_back(i);
    return v;
  }

  static fs::path dir_, checkpoint_, other_;
};
fs::path Sampling::dir_, Sampling::checkpoint_, Sampling::other_;

bool same(const Image& a, const Image& b) { return a.same_shape(b) && a.data == b.data; }

TEST_F(Sampling, FileRoundTripAndMetadata) {
  const GeneratorInfo info = read_generator_info(checkpoint_);
  EXPECT_EQ(info.task, "demo_mri");
  EXPECT_EQ(info.image_size, 32);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.num_classes, 2);
  EXPECT_EQ(info.metadata.at("format"), kGeneratorFormat);
  EXPECT_EQ(info.metadata.at("arch.z_dim"), "8");
  EXPECT_EQ(info.sha256.size(), 64u);
  // Loading rebuilds the same network: same outputs as the generator that was saved.
  GeneratorInfo loaded_info;
  Generator loaded = load_generator(checkpoint_, &loaded_info);
  EXPECT_FALSE(loaded->is_training());
  EXPECT_EQ(loaded_info.sha256, info.sha256);
}

TEST_F(Sampling, DeterministicPerSeedAndIndependentOfTheBatch) {
  const GeneratorSampler sampler(checkpoint_);
  const GeneratorSampler again(checkpoint_);
  const auto a = sampler.generate(0, 1, range(0, 70));
  const auto b = again.generate(0, 1, range(0, 70));
  ASSERT_EQ(a.size(), 70u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same(a[i], b[i])) << i;
  EXPECT_EQ(a[0].channels, 1);
  EXPECT_EQ(a[0].height, 32);
  for (float v : a[3].data) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
  // Another seed, another class, another index: other images.
  EXPECT_FALSE(same(a[5], sampler.generate(1, 1, {5}).front()));
  EXPECT_FALSE(same(a[5], sampler.generate(0, 0, {5}).front()));
  EXPECT_FALSE(same(a[5], a[6]));
  // Any subset, any order, across block boundaries, from a fresh sampler: the same bytes.
  const GeneratorSampler fresh(checkpoint_);
  const auto subset = fresh.generate(0, 1, {69, 3, 64, 63, 3});
  EXPECT_TRUE(same(subset[0], a[69]));
  EXPECT_TRUE(same(subset[1], a[3]));
  EXPECT_TRUE(same(subset[2], a[64]));
  EXPECT_TRUE(same(subset[3], a[63]));
  EXPECT_TRUE(same(subset[4], a[3]));
  // A different checkpoint gives different images.
  EXPECT_FALSE(same(a[0], GeneratorSampler(other_).generate(0, 1, {0}).front()));
}

TEST_F(Sampling, IndependentOfTheThreadCountAndThreadSafe) {
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = GeneratorSampler(checkpoint_).generate(3, 0, range(0, 64));
  at::set_num_threads(2);
  const GeneratorSampler shared(checkpoint_);
  std::vector<std::vector<Image>> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { results[t] = shared.generate(3, 0, {t * 16L, t * 16L + 7, 63 - t}); });
  for (auto& t : threads) t.join();
  at::set_num_threads(before);
  for (int t = 0; t < 4; ++t) {
    EXPECT_TRUE(same(results[t][0], one[t * 16])) << t;
    EXPECT_TRUE(same(results[t][1], one[t * 16 + 7])) << t;
    EXPECT_TRUE(same(results[t][2], one[63 - t])) << t;
  }
  EXPECT_EQ(shared.blocks_generated(), 1);  // the four threads shared one block
}

TEST_F(Sampling, NotAGeneratorFileIsAClearError) {
  const fs::path junk = dir_ / "junk.safetensors";
  write_file_atomic(junk, "definitely not a safetensors file");
  EXPECT_THROW(read_generator_info(junk), RunError);
  EXPECT_THROW(GeneratorSampler{dir_ / "missing.safetensors"}, RunError);
}

datasets::SourceOptions source_options(const std::string& task, int size) {
  datasets::SourceOptions options;
  options.task = task;
  options.image_size = size;
  return options;
}

config::Params gan_params(const fs::path& checkpoint) {
  const auto schema = datasets::dataset_schema("gan");
  YAML::Node node;
  node["checkpoint"] = checkpoint.string();
  node["pool_per_class"] = 10;
  return config::Params(schema->validate(node, "data.synthetic.gan", config::Provenance()), "data.synthetic.gan");
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

TEST_F(Sampling, WrongTaskSizeOrChannelsAreConfigErrorsNamingBothValues) {
  const auto& registry = datasets::dataset_registry();
  std::string m = message_of([&] { registry.create("gan", gan_params(checkpoint_), source_options("demo_cxr", 32)); });
  EXPECT_NE(m.find("'demo_mri'"), std::string::npos) << m;
  EXPECT_NE(m.find("'demo_cxr'"), std::string::npos) << m;

  m = message_of([&] { registry.create("gan", gan_params(checkpoint_), source_options("demo_mri", 64)); });
  EXPECT_NE(m.find("32x32"), std::string::npos) << m;
  EXPECT_NE(m.find("data.image_size=64"), std::string::npos) << m;

  const auto source = registry.create("gan", gan_params(checkpoint_), source_options("demo_mri", 32));
  EXPECT_EQ(source->natural_channels(), 1);
  EXPECT_EQ(source->records().size(), 20u);
  datasets::DecodeOptions decode;
  decode.size = 32;
  decode.channels = 3;
  m = message_of([&] { source->decode(source->records().front(), decode); });
  EXPECT_NE(m.find("1-channel"), std::string::npos) << m;
  EXPECT_NE(m.find("3 channel"), std::string::npos) << m;

  // builtin: looked up in $FREREC_GENERATORS.
  const fs::path builtin = dir_ / "builtin";
  fs::create_directories(builtin);
  fs::copy_file(checkpoint_, builtin / "demo_mri.safetensors", fs::copy_options::overwrite_existing);
  ::setenv("FREREC_GENERATORS", builtin.c_str(), 1);
  const auto resolved = registry.create("gan", gan_params("builtin"), source_options("demo_mri", 32));
  EXPECT_EQ(resolved->records().size(), 20u);
  m = message_of([&] { registry.create("gan", gan_params("builtin"), source_options("demo_fundus", 32)); });
  EXPECT_NE(m.find("no built-in generator for task 'demo_fundus'"), std::string::npos) << m;
  EXPECT_NE(m.find("demo_mri"), std::string::npos) << m;  // lists what exists
  ::unsetenv("FREREC_GENERATORS");
}

TEST_F(Sampling, GanSourceThroughLoadTask) {
  const std::string yaml = "name: demo_mri\nimage_size: 32\n"
                           "counts: {train: {positive: 4, negative: 4}, test: {positive: 2, negative: 2},"
                           " synthetic: {positive: 5, negative: 6}}\n"
                           "synthetic: {name: gan, gan: {checkpoint: '" + checkpoint_.string() +
                           "', seed: 2, pool_per_class: 80}}\n";
  const config::Params data = datasets::validate_data_section(YAML::Load(yaml), "data");
  RunContext ctx;
  ctx.threads = 2;
  ctx.cache_dir = dir_ / "cache";
  const datasets::TaskData task = datasets::load_task(data, ctx);
  ASSERT_EQ(task.synthetic.size(), 11u);
  EXPECT_EQ(task.synthetic.count(1), 5u);
  EXPECT_EQ(task.synthetic.count(0), 6u);
  EXPECT_EQ(task.synthetic.channels(), 1);
  EXPECT_EQ(task.synthetic.height(), 32);
  EXPECT_EQ(task.generator, "gan:" + checkpoint_.stem().string());
  EXPECT_EQ(task.synthetic.source(), "synthetic:" + task.generator);
  // Each cached image is the generator's image (seed 2, class, index), quantised to 8 bits.
  const GeneratorSampler sampler(checkpoint_);
  const auto images = task.synthetic.load_all();
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string& id = task.synthetic.ids()[i];
    const long index = std::stol(id.substr(id.rfind('/') + 1));
    const Image expected = sampler.generate(2, task.synthetic.labels()[i], {index}).front();
    for (std::size_t k = 0; k < expected.size(); ++k)
      ASSERT_FLOAT_EQ(images[i].data[k], io::to_u8(expected.data[k]) / 255.0f) << id;
  }
  // Served from the image cache the second time.
  const datasets::TaskData again = datasets::load_task(data, ctx);
  EXPECT_EQ(again.stats.cache_builds, 0u);
  EXPECT_EQ(again.synthetic.ids(), task.synthetic.ids());
  // Another sampling seed is another cache entry with other images.
  YAML::Node other = YAML::Load(yaml);
  other["synthetic"]["gan"]["seed"] = 3;
  const datasets::TaskData reseeded = datasets::load_task(datasets::validate_data_section(other, "data"), ctx);
  EXPECT_EQ(reseeded.stats.cache_builds, 1u);
  EXPECT_NE(reseeded.synthetic.read(0).data, images[0].data);
}

}  // namespace
}  // namespace frerec::generators
