// The demo tasks as DatasetSources: records are generator indices per split and class
// (`train_per_class`, `test_per_class`), decoded by rendering at data.image_size.
#include <functional>

#include "datasets/demo/demo.h"
#include "datasets/loaders/listed_source.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/random.h"

namespace frerec::datasets {
namespace {

using Renderer = Image (*)(int, std::uint64_t, int);

class DemoSource : public DatasetSource {
 public:
  DemoSource(std::string name, Renderer renderer, int channels, std::uint64_t seed, long train_per_class,
             long test_per_class)
      : name_(std::move(name)), renderer_(renderer), channels_(channels), seed_(seed) {
    char buffer[64];
    for (int split = 0; split < 2; ++split) {
      const long per_class = split == 0 ? train_per_class : test_per_class;
      for (int label = 0; label < 2; ++label)
        for (long index = 0; index < per_class; ++index) {
          Record record;
          std::snprintf(buffer, sizeof(buffer), "%s/%s/%06ld", split == 0 ? "train" : "test",
                        label == 1 ? "positive" : "negative", index);
          record.id = buffer;
          record.generator_index = index;
          record.label = label;
          record.split = split == 0 ? Split::kTrain : Split::kTest;
          record.group = label == 1 ? "positive" : "negative";
          records_.push_back(std::move(record));
        }
    }
    finalize_records(name_, records_);
  }
  const std::string& name() const override { return name_; }
  const std::vector<Record>& records() const override { return records_; }
  int natural_channels() const override { return channels_; }

  io::DecodedImage decode(const Record& record, const DecodeOptions& options) const override {
    const int split = record.split == Split::kTest ? 1 : 0;
    const std::uint64_t seed = demo::image_seed(name_, seed_, split, record.label, record.generator_index);
    return rendered_record(renderer_(options.size, seed, record.label), options.channels);
  }

  std::string fingerprint(const std::vector<Record>& records) const override {
    Hasher hasher;
    hasher.update(name_).update_pod(demo::generator_version(name_)).update_pod(seed_);
    for (const Record& record : records) hasher.update(record.id).update("\n");
    return hasher.hex();
  }

 private:
  std::string name_;
  Renderer renderer_;
  int channels_;
  std::uint64_t seed_;
  std::vector<Record> records_;
};

config::Schema demo_schema(int version) {
  config::Schema schema;
  schema.add_int("seed", 0, "generator seed of the demo task (images are a pure function of it)", 0);
  // Not a choice: the only value is this build's renderer version. Being in every cell's
  // validated config, it is part of the config hash, so cells made with an older renderer
  // (or with the GAN shipped for it, retrained whenever it changes) are not taken for done.
  schema.add_int("version", version, "version of this task's image generator (read-only: this build renders only this one)",
                 version, version);
  schema.add_int("train_per_class", 1000, "images per class in the train pool", 1, 1000000);
  schema.add_int("test_per_class", 300, "images per class in the test pool", 1, 1000000);
  return schema;
}

void add_demo(DatasetRegistry& registry, const std::string& name, const std::string& description, Renderer renderer,
              int channels) {
  registry.add(name, description, demo_schema(demo::generator_version(name)),
               [name, renderer, channels](const config::Params& params, const SourceOptions& options) {
                 if (options.image_size < 16 || options.image_size > 256)
                   throw ConfigError(name + ": data.image_size=" + std::to_string(options.image_size) +
                                     " must be in [16, 256] for the demo tasks");
                 return std::unique_ptr<DatasetSource>(std::make_unique<DemoSource>(
                     name, renderer, channels, static_cast<std::uint64_t>(params.get<long>("seed")),
                     params.get<long>("train_per_class"), params.get<long>("test_per_class")));
               });
}

}  // namespace

namespace demo {
int generator_version(const std::string& task) {
  if (task == "demo_mri") return kMriVersion;
  if (task == "demo_cxr") return kCxrVersion;
  if (task == "demo_fundus") return kFundusVersion;
  throw InternalError("no demo task named '" + task + "'");
}

std::uint64_t image_seed(const std::string& task, std::uint64_t seed, int split, int label, long index) {
  return random::mix_seed(random::tag_seed(task), seed, static_cast<std::uint64_t>(split * 2 + label),
                          static_cast<std::uint64_t>(index));
}
}  // namespace demo

io::DecodedImage rendered_record(Image image, int channels) {
  io::DecodedImage decoded;
  decoded.file_channels = image.channels;
  decoded.bit_depth = 8;
  decoded.image = channels != 0 && channels != image.channels ? io::convert_channels(image, channels) : std::move(image);
  return decoded;
}

void register_demo_tasks(DatasetRegistry& registry) {
  add_demo(registry, "demo_mri",
           "demo: grayscale brain-MRI-like slices; positive = ring-enhancing lesion with oedema (no download)",
           demo::render_mri, 1);
  add_demo(registry, "demo_cxr",
           "demo: grayscale chest-X-ray-like images; positive = cardiomegaly, CTR > 0.5 (no download)",
           demo::render_cxr, 1);
  add_demo(registry, "demo_fundus",
           "demo: RGB fundus-like images; positive = microaneurysms, haemorrhages, exudates (no download)",
           demo::render_fundus, 3);
}

}  // namespace frerec::datasets
