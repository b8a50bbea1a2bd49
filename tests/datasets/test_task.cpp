// Table 1 sampling, the image cache, load_task, the demo tasks and export.
#include <hdf5.h>

#include <fstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "datasets/core/sampling.h"
#include "datasets/demo/demo.h"
#include "datasets/export.h"
#include "datasets/image_cache.h"
#include "framework/cache/hdf5_io.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "tests/datasets/fixtures.h"

namespace frerec::datasets {
namespace {
using namespace testing;

std::vector<Record> synthetic_records(int positives, int negatives, bool with_test) {
  std::vector<Record> records;
  for (int label = 0; label < 2; ++label)
    for (int i = 0; i < (label ? positives : negatives); ++i) {
      Record r;
      r.id = std::string(label ? "p" : "n") + std::to_string(1000 + i);
      r.label = label;
      r.split = with_test && i % 4 == 0 ? Split::kTest : Split::kTrain;
      records.push_back(r);
    }
  return records;
}

std::vector<std::string> ids(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.id);
  return out;
}

TEST(Sampling, CountsPerClassAndDeterminism) {
  const auto records = synthetic_records(40, 80, true);  // official test: 10 pos, 20 neg
  SamplingPlan plan;
  plan.train = {25, 12};  // {negative, positive}
  plan.test = {20, 5};
  plan.seed = 7;
  const SampledSplits a = sample_real("t", records, plan);
  EXPECT_EQ(a.train.size(), 37u);
  EXPECT_EQ(a.test.size(), 25u);
  std::size_t positives = 0;
  for (const auto& r : a.train) {
    positives += r.label;
    EXPECT_EQ(r.split, Split::kTrain);
    EXPECT_EQ(std::stoi(r.id.substr(1)) % 4 == 0, false);  // never an official test record
  }
  EXPECT_EQ(positives, 12u);
  EXPECT_EQ(ids(sample_real("t", records, plan).train), ids(a.train));  // same seed, same sample
  plan.seed = 8;
  EXPECT_NE(ids(sample_real("t", records, plan).train), ids(a.train));
  // A larger count with the same seed is a superset.
  plan.seed = 7;
  plan.train.positive = 20;
  const auto bigger = ids(sample_real("t", records, plan).train);
  for (const auto& id : ids(a.train)) EXPECT_NE(std::find(bigger.begin(), bigger.end(), id), bigger.end()) << id;
}

TEST(Sampling, ValidationCarvedFromTrainAndResplit) {
  const auto records = synthetic_records(30, 50, false);
  SamplingPlan plan;
  plan.train = {40, 20};
  plan.test = {10, 10};
  plan.val_fraction = 0.25;
  const SampledSplits s = sample_real("t", records, plan);
  EXPECT_EQ(s.val.size(), 15u);  // round(0.25·40) + round(0.25·20)
  EXPECT_EQ(s.train.size(), 45u);
  EXPECT_EQ(s.test.size(), 20u);
  std::set<std::string> seen;
  for (const auto* set : {&s.train, &s.val, &s.test})
    for (const auto& r : *set) EXPECT_TRUE(seen.insert(r.id).second) << "overlap at " << r.id;
  // Without counts the re-split uses test_fraction.
  SamplingPlan all;
  all.test_fraction = 0.2;
  const SampledSplits f = sample_real("t", records, all);
  EXPECT_EQ(f.test.size(), 16u);
  EXPECT_EQ(f.train.size(), 64u);
}

TEST(Sampling, TooFewImagesSaysHowManyExist) {
  const auto records = synthetic_records(10, 50, true);
  SamplingPlan plan;
  plan.train = {-1, 9};  // 7 positive train records exist (3 are official test)
  const std::string message = error_of<ConfigError>([&] { sample_real("kaggle_dr", records, plan); });
  EXPECT_NE(message.find("data.counts.train.positive=9"), std::string::npos) << message;
  EXPECT_NE(message.find("has only 7 images"), std::string::npos) << message;
  plan.train = {};
  plan.synthetic = {3, 200};
  EXPECT_NE(error_of<ConfigError>([&] { sample_synthetic("s", records, plan); }).find("only 10"), std::string::npos);
}

TEST(Demo, ImagesAreDeterministicAndPinned) {
  for (int label = 0; label < 2; ++label) {
    const auto a = demo::render_mri(64, 123, label);
    EXPECT_EQ(a.data, demo::render_mri(64, 123, label).data);
    EXPECT_NE(a.data, demo::render_mri(64, 124, label).data);
    const auto c = demo::render_cxr(48, 5, label);
    EXPECT_EQ(c.channels, 1);
    EXPECT_EQ(c.height, 48);
    const auto f = demo::render_fundus(64, 9, label);
    EXPECT_EQ(f.channels, 3);
    for (float v : f.data) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
  }
  // Pinned: a change of these hashes changes every cached demo image; bump
  // that task's version (demo::kMriVersion, ...) and update the values together.
  Hasher hasher;
  for (int label = 0; label < 2; ++label)
    for (const Image& image : {demo::render_mri(32, 11, label), demo::render_cxr(32, 12, label), demo::render_fundus(32, 13, label)})
      hasher.update(image.data.data(), image.data.size() * sizeof(float));
  EXPECT_EQ(hasher.hex(), "694c50c0a74547ea6619be4a98ff37935db18a5765388f63c5ef6df8af7e6828");
}

std::string hash_images(const ImageSet& set) {
  Hasher hasher;
  for (const Image& image : set.load_all()) hasher.update(image.data.data(), image.data.size() * sizeof(float));
  return hasher.hex();
}

TEST(LoadTask, DemoCountsCacheHitAndThreadIndependence) {
  const auto cache = fresh_dir("cache_demo");
  const auto section = data(
      "{name: demo_fundus, image_size: 32, data_seed: 3, val_fraction: 0.2, "
      "counts: {train: {positive: 10, negative: 15}, test: {positive: 4, negative: 4}}, "
      "demo_fundus: {train_per_class: 30, test_per_class: 6}}");
  const TaskData first = load_task(section, context(cache, 2));
  EXPECT_EQ(first.real_train.size() + first.real_val.size(), 25u);
  EXPECT_EQ(first.real_val.size(), 5u);
  EXPECT_EQ(first.real_test.count(1), 4u);
  EXPECT_EQ(first.real_train.channels(), 3);
  EXPECT_EQ(first.real_train.height(), 32);
  EXPECT_TRUE(first.synthetic.empty());
  EXPECT_EQ(first.stats.decoded, 33u);
  EXPECT_EQ(first.stats.cache_builds, 3u);
  const TaskData second = load_task(section, context(cache, 1));
  EXPECT_EQ(second.stats.decoded, 0u);
  EXPECT_EQ(second.stats.cache_hits, 3u);
  EXPECT_EQ(hash_images(first.real_train), hash_images(second.real_train));
  // Rebuilt with one thread in a fresh cache: byte-identical.
  const TaskData third = load_task(section, context(fresh_dir("cache_demo2"), 1));
  EXPECT_EQ(third.stats.decoded, 33u);
  EXPECT_EQ(hash_images(first.real_test), hash_images(third.real_test));
  EXPECT_EQ(first.real_train.ids(), third.real_train.ids());
  // Chunked access agrees with load_all.
  const auto all = first.real_train.load_all();
  const auto part = first.real_train.read_range(3, 7);
  EXPECT_EQ(part[1].data, all[4].data);
  const auto batch = first.real_train.read_batch({6, 0, 6});
  EXPECT_EQ(batch[0].data, all[6].data);
  EXPECT_EQ(batch[2].data, all[6].data);
  EXPECT_THROW(first.real_train.read_range(0, 99), RunError);
  EXPECT_THROW(first.real_train.read_batch({99}), RunError);
}

// Random bytes written into an image cache's pixels (dd conv=notrunc) are
// caught by the checksums and the cache is rebuilt, so the images are the true ones.
TEST(LoadTask, CorruptedImageCacheIsRebuilt) {
  const auto cache = fresh_dir("cache_corrupt");
  const auto section = data(
      "{name: demo_mri, image_size: 32, data_seed: 3, val_fraction: 0.2, "
      "counts: {train: {positive: 6, negative: 6}, test: {positive: 2, negative: 2}}, "
      "demo_mri: {train_per_class: 10, test_per_class: 4}}");
  const TaskData first = load_task(section, context(cache, 1));
  const std::string truth = hash_images(first.real_train);
  const auto path = first.real_train.cache_path();
  haddr_t address = 0;  // of the 4th image's chunk: pixels, not HDF5 metadata
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const hid_t set = H5Dopen2(file, "images", H5P_DEFAULT);
    const hid_t space = H5Dget_space(set);
    hsize_t offset[4] = {0, 0, 0, 0}, size = 0;
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info(set, space, 3, offset, &mask, &address, &size), 0);
    H5Sclose(space);
    H5Dclose(set);
    H5Fclose(file);
  }
  {
    std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(address));
    for (int i = 0; i < 64; ++i) out.put(static_cast<char>(0x5A + i));
  }
  const TaskData second = load_task(section, context(cache, 1));
  EXPECT_EQ(second.stats.decoded, first.real_train.size());  // the train cache was rebuilt
  EXPECT_EQ(hash_images(second.real_train), truth);
}

TEST(LoadTask, SixteenBitSourcesAreCachedAsSixteenBit) {
  const auto root = fresh_dir("files16");
  const auto cache = fresh_dir("cache16");
  for (int i = 0; i < 4; ++i) {
    write_image(root / "positive" / (std::to_string(i) + ".png"), i, 1, 20, CV_16U);
    write_image(root / "negative" / (std::to_string(i) + ".png"), i, 1, 20, CV_16U);
  }
  const auto section = data("{name: image_folder, root: " + root.string() +
                            ", image_size: 20, use_official_split: false, counts: {test: {positive: 1, negative: 1}}}");
  const TaskData first = load_task(section, context(cache));
  EXPECT_EQ(first.real_train.bit_depth(), 16);
  EXPECT_EQ(first.real_train.channels(), 1);
  EXPECT_EQ(first.stats.decoded, 8u);
  // Exact 16-bit values survive the cache.
  const fs::path file = root / first.real_train.ids()[0];
  const cv::Mat original = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(first.real_train.read(0).at(0, 2, 3), original.at<std::uint16_t>(2, 3) / 65535.0f);
  EXPECT_EQ(load_task(section, context(cache)).stats.decoded, 0u);
  fs::remove_all(root);
  EXPECT_THROW(load_task(section, context(cache)), RunError);  // the root itself is still required
}

// An empty class folder with counts -1 used to train on one class without a
// word; now it is refused, naming the split and the missing class.
TEST(LoadTask, OneClassSplitIsRefused) {
  const auto root = fresh_dir("oneclass");
  for (int i = 0; i < 5; ++i) write_image(root / "negative" / (std::to_string(i) + ".png"), i);
  fs::create_directories(root / "positive");
  const std::string message = error_of<RunError>([&] {
    load_task(data("{name: image_folder, root: " + root.string() +
                   ", image_size: 8, channels: 1, counts: {train: {positive: -1, negative: -1}}}"),
              context(fresh_dir("cacheoneclass")));
  });
  EXPECT_NE(message.find("train split has no positive images"), std::string::npos) << message;
}

// Through a loader: a PNG above data.max_image_pixels is skipped with a line
// naming it, and the rest loads (strict: the run stops, naming it).
TEST(LoadTask, ImageAboveThePixelLimitIsSkipped) {
  const auto root = fresh_dir("pixellimit");
  for (int i = 0; i < 3; ++i) {
    write_image(root / "negative" / (std::to_string(i) + ".png"), i, 1, 24);
    write_image(root / "positive" / (std::to_string(i) + ".png"), i, 1, 24);
  }
  write_image(root / "positive/big.png", 9, 1, 40);  // 1600 pixels
  const std::string base = "{name: image_folder, root: " + root.string() +
                           ", image_size: 8, channels: 1, test_fraction: 0.0, max_image_pixels: 1000";
  const TaskData task = load_task(data(base + "}"), context(fresh_dir("cachepixellimit")));
  EXPECT_EQ(task.real_train.size(), 6u);
  ASSERT_EQ(task.real_train.skipped().size(), 1u);
  EXPECT_NE(task.real_train.skipped()[0].find("big.png"), std::string::npos);
  EXPECT_NE(task.real_train.skipped()[0].find("40x40 pixels"), std::string::npos) << task.real_train.skipped()[0];
  const std::string message =
      error_of<RunError>([&] { load_task(data(base + ", strict: true}"), context(fresh_dir("cachepixellimit2"))); });
  EXPECT_NE(message.find("big.png"), std::string::npos) << message;
}

TEST(LoadTask, CacheHitNeedsNoDecodingAndChangedFileRebuilds) {
  const auto root = fresh_dir("filescache");
  const auto cache = fresh_dir("cachefiles");
  for (int i = 0; i < 3; ++i) {
    write_image(root / "positive" / (std::to_string(i) + ".jpg"), i, 3);
    write_image(root / "negative" / (std::to_string(i) + ".jpg"), i, 3);
  }
  const auto section = data("{name: image_folder, root: " + root.string() + ", image_size: 16}");
  const TaskData first = load_task(section, context(cache));
  EXPECT_EQ(first.real_train.channels(), 3);  // probed from the colour files
  EXPECT_EQ(first.stats.decoded, 6u);        // test_fraction 0.2 of 3 rounds to 1 per class
  EXPECT_EQ(first.real_test.size(), 2u);
  // Corrupt the bytes of every image but keep size and mtime: a cache hit must not decode.
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const auto size = fs::file_size(entry.path());
    const auto mtime = fs::last_write_time(entry.path());
    write_text(entry.path(), std::string(size, 'x'));
    fs::last_write_time(entry.path(), mtime);
  }
  // channels: 0 probes the first image (a decode); the resolved channel count is part of the
  // key, so channels: 3 finds the same artifact.
  const auto explicit_channels = data("{name: image_folder, root: " + root.string() + ", image_size: 16, channels: 3}");
  const TaskData second = load_task(explicit_channels, context(cache));
  EXPECT_EQ(second.stats.decoded, 0u);
  EXPECT_EQ(second.stats.skipped, 0u);
  EXPECT_EQ(hash_images(first.real_train), hash_images(second.real_train));
  // A changed file (new mtime) invalidates the artifact: now the garbage is found.
  write_text(root / "positive/0.jpg", "garbage");
  const TaskData third = load_task(explicit_channels, context(cache));
  EXPECT_GT(third.stats.skipped, 0u);
}

TEST(LoadTask, CorruptImagesSkippedOrStrict) {
  const auto root = fresh_dir("corrupt");
  const auto cache = fresh_dir("cachecorrupt");
  for (int i = 0; i < 4; ++i) write_image(root / "negative" / (std::to_string(i) + ".png"), i);
  write_image(root / "positive/0.png", 9);
  write_text(root / "positive/1.png", "\x89PNG truncated");
  {  // a JPEG cut short: skipped like the broken PNG, or fails under strict
    cv::Mat mat(24, 24, CV_8UC1);
    cv::randu(mat, 0, 255);
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", mat, bytes);
    write_text(root / "positive/2.jpg", std::string(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)));
  }
  const std::string base = "{name: image_folder, root: " + root.string() + ", image_size: 8, channels: 1, test_fraction: 0.0";
  const TaskData task = load_task(data(base + "}"), context(cache));
  EXPECT_EQ(task.stats.skipped, 2u);
  EXPECT_EQ(task.real_train.size(), 5u);
  ASSERT_EQ(task.real_train.skipped().size(), 2u);
  EXPECT_NE(task.real_train.skipped()[0].find("1.png"), std::string::npos);
  EXPECT_NE(task.real_train.skipped()[1].find("2.jpg: image: cannot read"), std::string::npos);
  EXPECT_NE(task.real_train.skipped()[1].find("truncated JPEG"), std::string::npos);
  EXPECT_EQ(load_task(data(base + "}"), context(cache)).stats.skipped, 2u);  // also on a cache hit
  const std::string message = error_of<RunError>([&] { load_task(data(base + ", strict: true}"), context(cache)); });
  EXPECT_NE(message.find("1.png"), std::string::npos) << message;
  EXPECT_NE(message.find("strict"), std::string::npos) << message;
}

TEST(Export, DemoRoundTripsThroughCsvManifestAndContactSheet) {
  const auto out = fresh_dir("export");
  const auto cache = fresh_dir("cacheexport");
  const auto section = data_section_for(
      "demo_mri", YAML::Load("{image_size: 24, demo_mri: {train_per_class: 3, test_per_class: 2}}"));
  const TaskData task = load_task(section, context(cache));
  const ExportSummary summary = export_task(task, out);
  EXPECT_EQ(summary.images, 10u);
  EXPECT_TRUE(fs::exists(out / "train/positive/train__positive__000002.png"));
  const TaskData back = load_task(
      data("{name: csv_manifest, root: " + out.string() + ", image_size: 24}"), context(cache));
  EXPECT_EQ(back.real_train.size(), 6u);
  EXPECT_EQ(back.real_test.size(), 4u);
  EXPECT_EQ(back.real_train.channels(), 1);
  EXPECT_EQ(hash_images(back.real_test), hash_images(task.real_test));  // 8-bit PNG is lossless
  write_contact_sheet(task.real_train, "demo_mri", out / "sheet.png", 3);
  const cv::Mat sheet = cv::imread((out / "sheet.png").string());
  EXPECT_EQ(sheet.cols, 110 + 3 * 100);
}

TEST(LoadTask, SyntheticFolderPool) {
  const auto synth = fresh_dir("synthpool");
  for (int i = 0; i < 5; ++i) {
    write_image(synth / "positive" / (std::to_string(i) + ".png"), i);
    write_image(synth / "negative" / (std::to_string(i) + ".png"), i);
  }
  const auto section = data("{name: demo_cxr, image_size: 16, counts: {synthetic: {positive: 4, negative: 2}}, "
                            "demo_cxr: {train_per_class: 2, test_per_class: 1}, "
                            "synthetic: {name: synthetic_folder, root: " + synth.string() + ", generator: dcgan}}");
  const TaskData task = load_task(section, context(fresh_dir("cachesynth")));
  EXPECT_EQ(task.generator, "dcgan");
  EXPECT_EQ(task.synthetic.size(), 6u);
  EXPECT_EQ(task.synthetic.count(1), 4u);
  EXPECT_EQ(task.synthetic.source(), "synthetic:dcgan");
  EXPECT_EQ(task.synthetic.height(), 16);
  EXPECT_THROW(data("{name: demo_cxr, synthetic: {name: synthetic_folder, synthetic_folder: {clases: {}}}}"),
               ConfigError);
}

// Images whose 8-bit pixels are a function of (generation, index, pixel), so any image read
// back can be checked exactly; the fingerprint names the generation, so each generation is
// another artifact.
class PatternSource : public DatasetSource {
 public:
  PatternSource(int generation, int count) : generation_(generation) {
    for (int i = 0; i < count; ++i) {
      Record r;
      r.id = "img" + std::to_string(100 + i);
      r.label = i % 2;
      r.generator_index = i;
      records_.push_back(r);
    }
  }
  const std::string& name() const override { return name_; }
  const std::vector<Record>& records() const override { return records_; }
  int natural_channels() const override { return 1; }
  // k · (1/255): how the cache turns a stored byte back into a float.
  static float pixel(int generation, long index, std::size_t i) {
    return static_cast<float>((generation * 31 + index * 7 + static_cast<long>(i)) % 256) * (1.0f / 255.0f);
  }
  io::DecodedImage decode(const Record& record, const DecodeOptions& options) const override {
    io::DecodedImage decoded;
    decoded.image = Image(options.channels, options.size, options.size);
    for (std::size_t i = 0; i < decoded.image.data.size(); ++i)
      decoded.image.data[i] = pixel(generation_, record.generator_index, i);
    return decoded;
  }
  std::string fingerprint(const std::vector<Record>& records) const override {
    return "pattern/" + std::to_string(generation_) + "/" + std::to_string(records.size());
  }

 private:
  std::string name_ = "pattern";
  int generation_;
  std::vector<Record> records_;
};

// The image cache has no HDF5 lock of its own (framework/cache/hdf5_io.h: the library's lock,
// or the wrapper's when the library is not thread-safe). Two threads, each with its own
// artifact cache, build a new image file every iteration while reading back the one before
// (hyperslab ranges and single rows), many times over; every pixel, id and label must
// come back exactly.
TEST(ImageCache, TwoCachesWrittenAndReadFromTwoThreadsAtOnce) {
  EXPECT_TRUE(h5::library_is_threadsafe()) << "Debian's libhdf5 is built thread-safe; the wrapper then adds no lock";
  const auto root = fresh_dir("cache_threads");
  constexpr int kIterations = 50, kImages = 12;
  DecodeOptions options;
  options.channels = 1;
  options.size = 16;
  auto check = [&](const ImageCacheFile& file, int generation, std::vector<std::string>& failures) {
    if (file.size() != static_cast<std::size_t>(kImages)) failures.push_back(file.path().string() + ": size");
    const auto all = file.read_range(0, file.size());
    const auto rows = file.read_rows({5, 0, 11});
    for (std::size_t k = 0; k < all.size(); ++k) {
      if (file.ids()[k] != "img" + std::to_string(100 + k) || file.labels()[k] != static_cast<int>(k % 2))
        failures.push_back(file.path().string() + ": id or label of row " + std::to_string(k));
      for (std::size_t i = 0; i < all[k].data.size(); ++i)
        if (all[k].data[i] != PatternSource::pixel(generation, static_cast<long>(k), i)) {
          failures.push_back(file.path().string() + ": pixel " + std::to_string(i) + " of row " + std::to_string(k));
          break;
        }
    }
    if (rows.size() != 3 || rows[0].data != all[5].data || rows[1].data != all[0].data || rows[2].data != all[11].data)
      failures.push_back(file.path().string() + ": read_rows disagrees with read_range");
  };
  auto worker = [&](int which, std::vector<std::string>* failures) {
    ArtifactCache cache(root / ("cache" + std::to_string(which)));
    std::shared_ptr<const ImageCacheFile> previous;
    int previous_generation = 0;
    for (int iteration = 0; iteration < kIterations && failures->empty(); ++iteration) {
      const int generation = which * 1000 + iteration;
      const PatternSource source(generation, kImages);
      CacheBuildStats stats;
      try {
        const auto file = cached_image_file(cache, source, "train", source.records(), options, true, 1, stats);
        if (!stats.built) failures->push_back("generation " + std::to_string(generation) + " was not built");
        check(*file, generation, *failures);
        if (previous) check(*previous, previous_generation, *failures);
        previous = file;
        previous_generation = generation;
      } catch (const std::exception& e) {
        failures->push_back(e.what());
      }
    }
  };
  std::vector<std::string> failures_a, failures_b;
  std::thread a(worker, 0, &failures_a), b(worker, 1, &failures_b);
  a.join();
  b.join();
  EXPECT_TRUE(failures_a.empty()) << failures_a.front();
  EXPECT_TRUE(failures_b.empty()) << failures_b.front();
  fs::remove_all(root);
}

}  // namespace
}  // namespace frerec::datasets
