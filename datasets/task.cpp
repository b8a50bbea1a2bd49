// The `data` section, building sources, and load_task (datasets/dataset.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "datasets/core/sampling.h"
#include "datasets/image_cache.h"
#include "framework/cache/artifact_cache.h"
#include "framework/core/error.h"

namespace frerec::datasets {
namespace fs = std::filesystem;

namespace {

config::Schema class_counts_schema(const std::string& what) {
  config::Schema schema;
  schema.add_int("positive", -1, "positive " + what + " images (-1 = all available)", -1);
  schema.add_int("negative", -1, "negative " + what + " images (-1 = all available)", -1);
  return schema;
}

std::shared_ptr<const config::Schema> resolve_loader(const std::string& name) {
  if (!dataset_registry().contains(name)) return nullptr;
  const ComponentInfo* info = Catalog::instance().find("datasets", name);
  return info ? info->schema : nullptr;
}

std::vector<std::string> loader_names() { return Catalog::instance().names("datasets"); }

config::Schema synthetic_schema() {
  config::Schema schema;
  schema.add_string("name", "none", "synthetic source: none, synthetic_folder or any registered dataset");
  schema.add_string("root", "", "folder of the synthetic images (for folder sources)");
  schema.add_string("generator", "", "name of the generator that made them (recorded; default: folder name)");
  schema.allow_extra_keys(loader_names, resolve_loader);
  return schema;
}

ClassCounts read_counts(const config::Params& data, const std::string& key) {
  ClassCounts counts;
  if (!data.has("counts")) return counts;
  const config::Params all = data.sub("counts");
  if (!all.has(key)) return counts;
  const config::Params one = all.sub(key);
  counts.positive = one.get_or<long>("positive", -1);
  counts.negative = one.get_or<long>("negative", -1);
  return counts;
}

// The loader's own sub-block of `parent` (validated; defaults when absent).
config::Params loader_params(const config::Params& parent, const std::string& name) {
  const auto schema = dataset_schema(name);
  if (parent.has(name)) {
    const YAML::Node node = schema->validate(parent.node()[name], parent.full_key(name), config::Provenance());
    return config::Params(node, parent.full_key(name));
  }
  return config::Params(schema->validate(YAML::Node(), parent.full_key(name), config::Provenance()),
                        parent.full_key(name));
}

SourceOptions common_options(const config::Params& data) {
  SourceOptions options;
  options.root = data.get_or<std::string>("root", "");
  options.strict = data.get_or<bool>("strict", false);
  options.image_size = static_cast<int>(data.get_or<long>("image_size", 64));
  options.use_official_split = data.get_or<bool>("use_official_split", true);
  return options;
}

int resolve_channels(const config::Params& data, const DatasetSource& source, long long max_pixels) {
  const long requested = data.get_or<long>("channels", 0);
  if (requested != 0 && requested != 1 && requested != 3)
    throw ConfigError("datasets: data.channels=" + std::to_string(requested) + " must be 0 (the dataset's own), 1 or 3");
  if (requested != 0) return static_cast<int>(requested);
  if (source.natural_channels() != 0) return source.natural_channels();
  // Generic folders: the first image that decodes decides (gray file → 1, colour → 3).
  for (const Record& record : source.records()) {
    try {
      io::ReadOptions probe_options;
      probe_options.max_pixels = max_pixels;
      const io::DecodedImage probe = io::read_image(record.path, probe_options);
      return probe.file_channels == 1 ? 1 : 3;
    } catch (const RunError&) {
      continue;
    }
  }
  throw RunError(source.name() + ": no image could be decoded to tell the channel count; set data.channels");
}

ImageSet make_set(ArtifactCache& cache, const DatasetSource& source, const std::string& set_name,
                  const std::vector<Record>& records, const DecodeOptions& options, bool strict, int threads,
                  const std::string& tag, LoadStats& stats) {
  if (records.empty()) return ImageSet();
  CacheBuildStats build;
  auto file = cached_image_file(cache, source, set_name, records, options, strict, threads, build);
  stats.decoded += build.decoded;
  stats.skipped += file->skipped().size();
  stats.decode_seconds += build.seconds;
  (build.built ? stats.cache_builds : stats.cache_hits) += 1;
  if (strict && !file->skipped().empty())
    throw RunError(source.name() + ": " + std::to_string(file->skipped().size()) + " unreadable image(s) in the " +
                   set_name + " set, e.g. " + file->skipped().front() +
                   " (data.strict is true; fix or remove the files, or set strict: false to skip them)");
  if (!file->skipped().empty())
    spdlog::warn("datasets: {} {}: {} of {} images skipped as unreadable (first: {})", source.name(), set_name,
                 file->skipped().size(), records.size(), file->skipped().front());
  return ImageSet(tag, std::move(file));
}

}  // namespace

config::Schema data_section_schema() {
  config::Schema counts;
  counts.add_map("train", class_counts_schema("real training"), "real training images per class (Table 1)");
  counts.add_map("test", class_counts_schema("real test"), "real test images per class (Table 1)");
  counts.add_map("synthetic", class_counts_schema("synthetic"), "synthetic images per class (Table 1)");
  config::Schema schema;
  schema.add_required("name", config::Type::kString, "registered dataset (frerec info datasets)");
  schema.add_string("root", "", "dataset root folder (demo tasks need none)");
  schema.add_int("image_size", 64, "side of the square images after resizing", 8, 4096);
  schema.add_int("channels", 0, "0 = the dataset's own (MRI/X-ray 1, fundus 3), else 1 or 3", 0, 3);
  schema.add_string("interpolation", "auto", "resize filter: auto = area when shrinking, bilinear when enlarging",
                    io::interpolation_names());
  schema.add_int("data_seed", 0, "seed of the Table 1 sampling (independent of the training seed)", 0);
  schema.add_map("counts", std::move(counts), "Table 1 counts per split and class");
  schema.add_float("test_fraction", 0.2, "test share carved per class when the source has no official test split", 0.0, 0.9);
  schema.add_bool("use_official_split", true, "use the dataset's own train/test split when it has one");
  schema.add_float("val_fraction", 0.0, "validation share carved per class from the sampled real train", 0.0, 0.9);
  schema.add_bool("strict", false, "fail on a corrupt image instead of skipping it");
  schema.add_int("max_image_pixels", io::kDefaultMaxPixels,
                 "files above this many pixels are decoded at 1/2-1/8 scale (JPEG) or skipped as unreadable "
                 "(other formats), so that one huge file cannot exhaust memory; 0 = no limit",
                 0);
  schema.add_map("synthetic", synthetic_schema(), "the synthetic pool (a generator's output)");
  return schema;
}

config::Schema data_schema_with_loaders() {
  config::Schema schema = data_section_schema();
  schema.allow_extra_keys(loader_names, resolve_loader);
  return schema;
}

config::Params validate_data_section(const YAML::Node& node, const std::string& prefix) {
  return config::Params(data_schema_with_loaders().validate(node, prefix, config::Provenance()), prefix);
}

std::shared_ptr<const config::Schema> dataset_schema(const std::string& name) {
  if (!dataset_registry().contains(name)) Catalog::instance().require("datasets", name, "data.name");
  return resolve_loader(name);
}

std::unique_ptr<DatasetSource> make_source(const config::Params& section) {
  const std::string name = section.get<std::string>("name");
  return dataset_registry().create(name, loader_params(section, name), common_options(section));
}

ImageSet::ImageSet(std::string source_tag, std::shared_ptr<const ImageCacheFile> file)
    : source_(std::move(source_tag)), file_(std::move(file)) {
  if (file_) {
    ids_ = file_->ids();
    labels_ = file_->labels();
    skipped_ = file_->skipped();
  }
}

int ImageSet::channels() const { return file_ ? file_->channels() : 0; }
int ImageSet::height() const { return file_ ? file_->height() : 0; }
int ImageSet::width() const { return file_ ? file_->width() : 0; }
int ImageSet::bit_depth() const { return file_ ? file_->bit_depth() : 8; }
std::size_t ImageSet::count(int label) const { return static_cast<std::size_t>(std::count(labels_.begin(), labels_.end(), label)); }
fs::path ImageSet::cache_path() const { return file_ ? file_->path() : fs::path(); }

std::vector<Image> ImageSet::read_range(std::size_t begin, std::size_t end) const {
  if (!file_) {
    if (begin == 0 && end == 0) return {};
    throw RunError("datasets: reading images [" + std::to_string(begin) + ", " + std::to_string(end) + ") of an empty set");
  }
  return file_->read_range(begin, end);
}

std::vector<Image> ImageSet::read_batch(const std::vector<std::size_t>& indices) const {
  for (std::size_t index : indices)
    if (index >= size())
      throw RunError("datasets: image index " + std::to_string(index) + " is outside a set of " + std::to_string(size()));
  return file_ ? file_->read_rows(indices) : std::vector<Image>{};
}

Image ImageSet::read(std::size_t index) const { return read_range(index, index + 1).front(); }
std::vector<Image> ImageSet::load_all() const { return read_range(0, size()); }

namespace {

SamplingPlan sampling_plan(const config::Params& data) {
  SamplingPlan plan;
  plan.train = read_counts(data, "train");
  plan.test = read_counts(data, "test");
  plan.synthetic = read_counts(data, "synthetic");
  plan.test_fraction = data.get_or<double>("test_fraction", 0.2);
  plan.val_fraction = data.get_or<double>("val_fraction", 0.0);
  plan.use_official_split = data.get_or<bool>("use_official_split", true);
  plan.seed = static_cast<std::uint64_t>(data.get_or<long>("data_seed", 0));
  return plan;
}

// The source of data.synthetic; null when its name is none.
std::unique_ptr<DatasetSource> make_synthetic_source(const config::Params& data) {
  if (!data.has("synthetic")) return nullptr;
  const config::Params synthetic = data.sub("synthetic");
  const std::string name = synthetic.get_or<std::string>("name", "none");
  if (name == "none") return nullptr;
  if (!dataset_registry().contains(name)) Catalog::instance().require("datasets", name, synthetic.full_key("name"));
  SourceOptions options = common_options(data);
  options.root = synthetic.get_or<std::string>("root", "");
  options.root_key = synthetic.full_key("root");
  options.generator = synthetic.get_or<std::string>("generator", "");
  options.task = data.get<std::string>("name");
  return dataset_registry().create(name, loader_params(synthetic, name), options);
}

std::size_t positives_of(const std::vector<Record>& records) {
  return static_cast<std::size_t>(std::count_if(records.begin(), records.end(), [](const Record& r) { return r.label == 1; }));
}

std::string split_line(const char* split, const std::vector<Record>& records, std::size_t listed) {
  const std::size_t positives = positives_of(records);
  return fmt::format("  {:<11}{} images ({} positive, {} negative){}\n", std::string(split) + ":", records.size(),
                     positives, records.size() - positives,
                     listed ? fmt::format(" of {} listed", listed) : std::string());
}

}  // namespace

void check_data_section(const config::Params& data) {
  if (data.get_or<std::string>("root", "").empty()) make_source(data);  // a folder loader refuses at once
  if (data.has("synthetic") && data.sub("synthetic").get_or<std::string>("root", "").empty())
    make_synthetic_source(data);
}

std::string describe_data(const config::Params& data) {
  const auto source = make_source(data);
  const SamplingPlan plan = sampling_plan(data);
  const std::string name = data.get<std::string>("name");
  const SampledSplits splits = sample_real(name, source->records(), plan);
  const std::size_t listed_positive = positives_of(source->records());
  std::string text = fmt::format("data {}: the source lists {} images ({} positive, {} negative); sampled:\n", name,
                                 source->records().size(), listed_positive,
                                 source->records().size() - listed_positive);
  text += split_line("train", splits.train, 0);
  if (!splits.val.empty()) text += split_line("val", splits.val, 0);
  text += split_line("test", splits.test, 0);
  if (const auto synthetic = make_synthetic_source(data)) {
    const auto records = sample_synthetic(name + " synthetic", synthetic->records(), plan);
    text += split_line("synthetic", records, synthetic->records().size());
  }
  return text;
}

TaskData load_task(const config::Params& data, const RunContext& ctx) {
  TaskData task;
  task.dataset = data.get<std::string>("name");
  const auto source = make_source(data);

  DecodeOptions options;
  options.max_pixels = data.get_or<long>("max_image_pixels", io::kDefaultMaxPixels);
  options.channels = resolve_channels(data, *source, options.max_pixels);
  options.size = static_cast<int>(data.get_or<long>("image_size", 64));
  options.interpolation = io::parse_interpolation(data.get_or<std::string>("interpolation", "auto"), data.full_key("interpolation"));
  const bool strict = data.get_or<bool>("strict", false);

  const SamplingPlan plan = sampling_plan(data);
  const SampledSplits splits = sample_real(task.dataset, source->records(), plan);

  std::unique_ptr<ArtifactCache> own_cache;
  ArtifactCache* cache = ctx.cache;
  if (cache == nullptr) {
    own_cache = std::make_unique<ArtifactCache>(ctx.cache_dir);
    cache = own_cache.get();
  }
  const int threads = std::max(1, ctx.threads);
  const auto t0 = std::chrono::steady_clock::now();
  task.real_train = make_set(*cache, *source, "train", splits.train, options, strict, threads, "real", task.stats);
  task.real_val = make_set(*cache, *source, "val", splits.val, options, strict, threads, "real", task.stats);
  task.real_test = make_set(*cache, *source, "test", splits.test, options, strict, threads, "real", task.stats);
  // Every task is binary: a split that has images of one class only (an empty class folder
  // with counts -1, or every image of a class skipped as unreadable) cannot train or score.
  for (const auto& [split, sets] :
       std::vector<std::pair<const char*, std::vector<const ImageSet*>>>{{"train", {&task.real_train, &task.real_val}},
                                                                           {"test", {&task.real_test}}}) {
    std::size_t total = 0, positives = 0;
    for (const ImageSet* set : sets) total += set->size(), positives += set->count(1);
    if (total == 0 || (positives > 0 && positives < total)) continue;
    const char* missing = positives == 0 ? "positive" : "negative";
    throw RunError(fmt::format("{}: the {} split has no {} images ({} images, all of the other class); a binary task "
                               "needs both: check that the source's {} class is not empty (or all unreadable)",
                               task.dataset, split, missing, total, missing));
  }

  if (const auto synthetic_source = make_synthetic_source(data)) {
    const std::string name = data.sub("synthetic").get<std::string>("name");
    task.generator = synthetic_source->generator().empty() ? name : synthetic_source->generator();
    const auto records = sample_synthetic(task.dataset + " synthetic", synthetic_source->records(), plan);
    task.synthetic = make_set(*cache, *synthetic_source, "synthetic", records, options, strict, threads,
                              "synthetic:" + task.generator, task.stats);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (task.stats.decoded > 0)
    spdlog::info("datasets: {} decoded {} images in {:.2f} s ({:.0f} images/s, {} threads) into the image cache",
                 task.dataset, task.stats.decoded, task.stats.decode_seconds,
                 task.stats.decode_seconds > 0 ? task.stats.decoded / task.stats.decode_seconds : 0.0, threads);
  spdlog::info("datasets: {} train {} ({} positive) val {} test {} ({} positive) synthetic {}; {} cached sets reused, "
               "{} built, {} skipped, {:.2f} s",
               task.dataset, task.real_train.size(), task.real_train.count(1), task.real_val.size(),
               task.real_test.size(), task.real_test.count(1), task.synthetic.size(), task.stats.cache_hits,
               task.stats.cache_builds, task.stats.skipped, seconds);
  return task;
}

}  // namespace frerec::datasets
