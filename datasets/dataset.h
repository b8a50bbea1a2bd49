// Datasets: where images come from, how Table 1 is sampled, and what the
// experiment runner receives.
//
// 1. DatasetSource — one per data layout, registered by config name (kind "datasets") with
//    a Schema and a one-line description. It lists Records (id, file path or generator
//    index, label 0/1, split) and decodes one record on request. Registered names:
//      brain_tumor_kaggle, mimic_cxr_jpg, kaggle_dr, image_folder, csv_manifest,
//      synthetic_folder, demo_mri, demo_cxr, demo_fundus.
//    A later generator (GAN checkpoint) plugs in by registering another DatasetSource whose
//    records carry generator indices; `data.synthetic.name` selects it.
//
// 2. The `data` config section (data_section_schema() has the common keys):
//      data:
//        name: kaggle_dr            # registered DatasetSource
//        root: /data/kaggle_dr      # dataset root (demo tasks need none)
//        image_size: 64             # square side after resizing
//        channels: 0                # 0 = the loader's natural count (MRI/CXR 1, fundus 3)
//        interpolation: auto        # auto = area when shrinking, bilinear when enlarging
//        data_seed: 0               # Table 1 sampling seed, independent of the training seed
//        counts: {train: {positive: 7000, negative: 20000}, test: {...}, synthetic: {...}}
//                                   # -1 = every available record of that class
//        test_fraction: 0.2         # re-split share when the source has no official test split
//        use_official_split: true   # false pools every record and re-splits
//        val_fraction: 0.0          # validation carved (per class) from the sampled real train
//        strict: false              # corrupt image: skip and count (false) or fail (true)
//        kaggle_dr: {binarize: referable}   # loader-specific sub-block, keyed by loader name
//        synthetic: {name: none | synthetic_folder | <any source>, root: ..., generator: ...,
//                    synthetic_folder: {...}}
//    The lead's config validator checks the common keys with data_section_schema() and every
//    sub-block named after a registered dataset with that loader's schema
//    (dataset_schema(name)); validate_data_section() does the same for library callers.
//
// 3. load_task() samples the splits and returns TaskData: real_train, real_val (may be
//    empty), real_test and synthetic, each an ImageSet backed by an HDF5 image cache
//    artifact (kind "images"), read in index ranges or batches so memory stays bounded.
//
// Decisions where the issue is silent (for DESIGN.md):
//  * Splits: records carry the official split when the layout has one (Brain tumour
//    Training/Testing, MIMIC split CSV, Kaggle DR retinopathy_solution.csv when present);
//    MIMIC's official "validate" records join the train pool (the paper has no val split).
//    Without an official test split, test is carved per class by data_seed: the requested
//    test count, or round(test_fraction · n) when the count is -1.
//  * Sampling order: per split and class, records are sorted by id, permuted with a seeded
//    Fisher–Yates (SplitMix64(data_seed, split, class)) and the first n taken; the sampled
//    set is then sorted by id (so a larger count is a superset of a smaller one for the
//    same seed). val = the first round(val_fraction · n_c) of each class's sampled train.
//  * Corrupt images are found when the cache is built (after sampling): they are skipped and
//    counted (set shrinks, the count and reasons are in ImageSet::skipped() and in the
//    cache file), or RunError under strict. No replacement is drawn.
//  * Cache storage depth: uint16 when the first decoded image of a set is 16-bit, uint8
//    otherwise (later images are quantised to that depth). Channels/size after conversion.
//  * channels: 0 on a generic folder (image_folder, csv_manifest, synthetic_folder) decodes
//    the first image at every load to learn the count (gray → 1, colour → 3); set
//    data.channels to make a cached load decode nothing at all.
//  * The cache key holds the resolved channels, size and interpolation, so two configs that
//    resolve to the same preprocessing share the artifact.
//  * Demo images are rendered directly at image_size (no resize), seeded per image by
//    (task, seed, split, label, index), so they are byte-identical across thread counts.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/image.h"
#include "framework/core/registry.h"
#include "framework/io/image_io.h"

namespace frerec::datasets {

enum class Split { kTrain, kVal, kTest, kUnassigned };
const char* split_name(Split split);

struct Record {
  std::string id;                  // unique within the source (e.g. "Training/glioma/1.jpg")
  std::filesystem::path path;      // absolute image path; empty for generated images
  long generator_index = -1;       // for generated images
  int label = 0;                   // 0 negative, 1 positive
  Split split = Split::kUnassigned;
  std::string group;               // original class / level (e.g. "glioma", "level=3")
};

// Preprocessing every loader applies (from the common data keys).
struct DecodeOptions {
  int channels = 1;
  int size = 64;
  io::Interpolation interpolation = io::Interpolation::kAuto;
  long long max_pixels = io::kDefaultMaxPixels;  // data.max_image_pixels (io::ReadOptions)
};

// Common options handed to a loader's factory besides its own sub-block.
struct SourceOptions {
  std::filesystem::path root;
  bool strict = false;
  int image_size = 64;
  bool use_official_split = true;
  std::string generator;  // data.synthetic.generator, recorded by synthetic sources
  std::string task;       // data.name, set for synthetic sources (a generator checks its task)
  std::string root_key = "data.root";  // the config key `root` came from (for messages)
};

class DatasetSource {
 public:
  virtual ~DatasetSource() = default;
  virtual const std::string& name() const = 0;
  // Every record of the source (all splits, both classes), sorted by id.
  virtual const std::vector<Record>& records() const = 0;
  // The channel count of the task when `channels: 0` (1 for MRI and X-ray, 3 for fundus);
  // 0 for generic folders: load_task then uses the first image's (gray 1, colour 3).
  virtual int natural_channels() const = 0;
  // Decodes one record (converted and resized). Files: io::read_image; throws RunError.
  virtual io::DecodedImage decode(const Record& record, const DecodeOptions& options) const;
  // Fingerprint of the inputs of `records` for the cache key. Files: path, size and mtime
  // of each; generated sources: generator parameters and indices.
  virtual std::string fingerprint(const std::vector<Record>& records) const;
  // Name of the generator for synthetic sources ("" for real data).
  virtual std::string generator() const { return ""; }
};

using DatasetRegistry = Registry<std::unique_ptr<DatasetSource>, const SourceOptions&>;
DatasetRegistry& dataset_registry();

// Schema of the common `data` keys; `data_schema_with_loaders()` adds an optional sub-block
// for each registered dataset (what the validator does).
config::Schema data_section_schema();
config::Schema data_schema_with_loaders();
// Validates a raw `data` mapping (common keys + sub-blocks) and returns Params with
// defaults filled; `prefix` is the full key ("data").
config::Params validate_data_section(const YAML::Node& node, const std::string& prefix = "data");
// The schema of a registered loader's sub-block; ConfigError for an unknown name.
std::shared_ptr<const config::Schema> dataset_schema(const std::string& name);

// Builds the source named by `section` (`name`, `root`, `strict`, the loader sub-block).
std::unique_ptr<DatasetSource> make_source(const config::Params& section);

class ImageCacheFile;  // datasets/image_cache.h

// One sampled split: ids, labels, a source tag and chunked access to the cached images.
class ImageSet {
 public:
  ImageSet() = default;
  ImageSet(std::string source_tag, std::shared_ptr<const ImageCacheFile> file);

  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  const std::vector<std::string>& ids() const { return ids_; }
  const std::vector<int>& labels() const { return labels_; }
  const std::string& source() const { return source_; }  // "real" or "synthetic:<generator>"
  int channels() const;
  int height() const;
  int width() const;
  int bit_depth() const;
  std::size_t count(int label) const;

  // Images [begin, end) read from the cache (one HDF5 hyperslab); bounded memory.
  std::vector<Image> read_range(std::size_t begin, std::size_t end) const;
  // Images at `indices` (any order, repeats allowed), e.g. a shuffled training batch.
  std::vector<Image> read_batch(const std::vector<std::size_t>& indices) const;
  Image read(std::size_t index) const;
  // Every image (only for small sets: size() · C·H·W floats).
  std::vector<Image> load_all() const;
  // Calls fn(first_index, images) for consecutive chunks of `chunk` images.
  template <typename Fn>
  void for_each_chunk(std::size_t chunk, Fn&& fn) const {
    for (std::size_t b = 0; b < size(); b += chunk) fn(b, read_range(b, std::min(size(), b + chunk)));
  }

  // Corrupt images skipped when the cache was built ("path: reason").
  const std::vector<std::string>& skipped() const { return skipped_; }
  std::filesystem::path cache_path() const;

 private:
  std::string source_;
  std::shared_ptr<const ImageCacheFile> file_;
  std::vector<std::string> ids_;
  std::vector<int> labels_;
  std::vector<std::string> skipped_;
};

struct LoadStats {
  std::size_t decoded = 0;       // images decoded in this call (0 when every set was cached)
  std::size_t skipped = 0;       // corrupt images skipped (also on cache hits)
  double decode_seconds = 0;     // wall time spent building caches
  std::size_t cache_hits = 0;    // sets served from an existing artifact
  std::size_t cache_builds = 0;  // sets decoded into a new artifact
};

struct TaskData {
  std::string dataset;     // data.name
  std::string generator;   // synthetic generator name ("" when none)
  ImageSet real_train;
  ImageSet real_val;       // empty unless val_fraction > 0
  ImageSet real_test;
  ImageSet synthetic;      // empty when data.synthetic.name is none
  LoadStats stats;
};

// Samples the splits (Table 1 counts, data_seed), decodes through the image cache (ctx.cache
// or an ArtifactCache at ctx.cache_dir) and returns the sets. `data_section` must have been
// validated (validate_data_section or the lead's validator).
TaskData load_task(const config::Params& data_section, const RunContext& ctx);

// What a config alone reveals, checked before any cell runs (exit 2): a loader that reads a
// folder given an empty data.root or data.synthetic.root. Cheap: a source is only built
// when its root is empty (a folder loader then refuses at once; demo tasks and generators
// need none).
void check_data_section(const config::Params& data_section);

// `--dry-run`: opens the sources and samples the splits as load_task would, without decoding
// an image, and describes what it found, one line per split:
//   "  train: 480 images (240 positive, 240 negative) of 1234 listed (...)".
std::string describe_data(const config::Params& data_section);

}  // namespace frerec::datasets
