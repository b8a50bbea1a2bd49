// The `gan` DatasetSource: a synthetic pool drawn from a generator file (sampler.h).
//   data.synthetic: {name: gan, gan: {checkpoint: builtin | FILE, seed: 0, pool_per_class: 1000}}
// Records: pool_per_class per class, ids gan/<negative|positive>/NNNNNN, generator index =
// the image index. Table 1's sampler draws counts.synthetic of them; decoding generates the
// image (seed, label, index) — in aligned blocks, thread-safe, so any subset of the pool is
// byte-identical however it is chosen. Cache fingerprint: the file's SHA-256, seed, block,
// ids. Checks (ConfigError naming both values): the file's task must equal data.name,
// its image size data.image_size, its channel count the task's.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "datasets/core/layout.h"
#include "datasets/dataset.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "models/generators/sampler.h"

namespace frerec::experiments {
using generators::GeneratorInfo;
using generators::GeneratorSampler;
using generators::resolve_generator_checkpoint;

namespace {

constexpr const char* kSourceVersion = "gan-source/1";

class GanSource : public datasets::DatasetSource {
 public:
  GanSource(std::shared_ptr<const GeneratorSampler> sampler, std::uint64_t seed, long pool_per_class,
            std::string generator)
      : sampler_(std::move(sampler)), seed_(seed), generator_(std::move(generator)) {
    const GeneratorInfo& info = sampler_->info();
    char buffer[64];
    for (int label = 0; label < info.num_classes; ++label)
      for (long index = 0; index < pool_per_class; ++index) {
        datasets::Record record;
        record.group = class_name(label);
        std::snprintf(buffer, sizeof(buffer), "gan/%s/%06ld", record.group.c_str(), index);
        record.id = buffer;
        record.generator_index = index;
        record.label = label;
        record.split = datasets::Split::kUnassigned;
        records_.push_back(std::move(record));
      }
    datasets::finalize_records(name_, records_);
  }

  const std::string& name() const override { return name_; }
  const std::vector<datasets::Record>& records() const override { return records_; }
  int natural_channels() const override { return sampler_->info().channels; }
  std::string generator() const override { return generator_; }

  io::DecodedImage decode(const datasets::Record& record, const datasets::DecodeOptions& options) const override {
    const GeneratorInfo& info = sampler_->info();
    if (options.size != info.image_size)
      throw ConfigError(fmt::format("gan: generator '{}' makes {}x{} images but data.image_size={}; set "
                                    "data.image_size={} or train a generator at {}",
                                    info.path.string(), info.image_size, info.image_size, options.size,
                                    info.image_size, options.size));
    if (options.channels != info.channels)
      throw ConfigError(fmt::format("gan: generator '{}' makes {}-channel images but the task uses {} channel(s) "
                                    "(data.channels); use a generator trained with {} channel(s)",
                                    info.path.string(), info.channels, options.channels, options.channels));
    io::DecodedImage decoded;
    decoded.image = sampler_->generate(seed_, record.label, {record.generator_index}).front();
    decoded.bit_depth = 8;
    decoded.file_channels = info.channels;
    return decoded;
  }

  std::string fingerprint(const std::vector<datasets::Record>& records) const override {
    Hasher hasher;
    hasher.update(kSourceVersion).update("\n").update(sampler_->info().sha256).update("\n");
    hasher.update_pod(seed_).update_pod(static_cast<std::int64_t>(sampler_->block()));
    for (const auto& record : records)
      hasher.update(record.id).update("\n").update_pod(record.label).update_pod(record.generator_index);
    return hasher.hex();
  }

 private:
  static std::string class_name(int label) {
    if (label == 0) return "negative";
    if (label == 1) return "positive";
    return "class" + std::to_string(label);
  }
  std::string name_ = "gan";
  std::shared_ptr<const GeneratorSampler> sampler_;
  std::uint64_t seed_;
  std::string generator_;
  std::vector<datasets::Record> records_;
};

config::Schema gan_source_schema() {
  config::Schema schema;
  schema.add_string("checkpoint", "builtin",
                    "generator file from `frerec generator train`, or builtin = the shipped generator of data.name");
  schema.add_int("seed", 0, "sampling seed: image (seed, class, index) is fixed by the checkpoint", 0);
  schema.add_int("pool_per_class", 1000, "generated records per class that counts.synthetic draws from", 1, 10000000);
  return schema;
}

std::unique_ptr<datasets::DatasetSource> make_gan_source(const config::Params& params,
                                                         const datasets::SourceOptions& options) {
  const std::string key = params.full_key("checkpoint");
  const auto path = resolve_generator_checkpoint(params.get<std::string>("checkpoint"), options.task, key);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ConfigError("gan: " + key + "='" + path.string() + "' does not exist; give a file made by `frerec generator "
                      "train` or checkpoint: builtin for a demo task");
  auto sampler = std::make_shared<const GeneratorSampler>(path);
  const GeneratorInfo& info = sampler->info();
  if (!options.task.empty() && info.task != options.task)
    throw ConfigError(fmt::format("gan: generator '{}' was trained on task '{}' but data.name is '{}'; use a generator "
                                  "trained on {} (frerec generator train) or checkpoint: builtin",
                                  path.string(), info.task.empty() ? "?" : info.task, options.task, options.task));
  if (options.image_size != info.image_size)
    throw ConfigError(fmt::format("gan: generator '{}' makes {}x{} images but data.image_size={}; set "
                                  "data.image_size={} or train a generator at {}",
                                  path.string(), info.image_size, info.image_size, options.image_size,
                                  info.image_size, options.image_size));
  const std::string generator =
      options.generator.empty() ? "gan:" + path.stem().string() : options.generator;
  return std::make_unique<GanSource>(std::move(sampler), params.get<std::uint64_t>("seed"),
                                     params.get<long>("pool_per_class"), generator);
}

}  // namespace

void register_gan_source() {
  datasets::dataset_registry().add(
      "gan", "synthetic pool generated on demand by a class-conditional GAN checkpoint (frerec generator train)",
      gan_source_schema(), make_gan_source);
}

}  // namespace frerec::experiments
