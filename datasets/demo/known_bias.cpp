#include "datasets/demo/known_bias.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "datasets/core/layout.h"
#include "datasets/demo/demo.h"
#include "datasets/loaders/listed_source.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/image_filter.h"
#include "framework/core/random.h"

namespace frerec::datasets {
namespace {

constexpr const char* kSourceVersion = "known-bias/1";
// The held-out images' split in the demo's per-image seed (train 0, test 1).
constexpr int kHeldOutSplit = 2;

Image checkerboard(const Image& image, double blend) {
  if (image.height % 2 != 0 || image.width % 2 != 0)
    throw ConfigError(fmt::format("known_bias: operator checkerboard needs an even image size, got {}x{}; set an even "
                                  "data.image_size",
                                  image.height, image.width));
  Image up(image.channels, image.height, image.width);
  for (int c = 0; c < image.channels; ++c)
    for (int y = 0; y < image.height; y += 2)
      for (int x = 0; x < image.width; x += 2) {
        const float mean = 0.25f * (image.at(c, y, x) + image.at(c, y, x + 1) + image.at(c, y + 1, x) +
                                    image.at(c, y + 1, x + 1));
        up.at(c, y, x) = up.at(c, y, x + 1) = up.at(c, y + 1, x) = up.at(c, y + 1, x + 1) = mean;
      }
  Image smoothed = convolve_separable(up, {0.25f, 0.5f, 0.25f});
  for (std::size_t i = 0; i < smoothed.size(); ++i)
    smoothed.data[i] = static_cast<float>((1.0 - blend) * image.data[i] + blend * smoothed.data[i]);
  return smoothed;
}

Image hf_noise(const Image& image, double noise_std, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Image noise(image.channels, image.height, image.width);
  for (std::size_t i = 0; i < noise.size(); i += 2) {
    const random::BoxMuller b = random::box_muller(rng);
    noise.data[i] = static_cast<float>(b.radius * std::cos(b.angle));
    if (i + 1 < noise.size()) noise.data[i + 1] = static_cast<float>(b.radius * std::sin(b.angle));
  }
  const Image low = gaussian_blur(noise, 1.0);
  double sum_sq = 0;
  for (std::size_t i = 0; i < noise.size(); ++i) {
    noise.data[i] -= low.data[i];
    sum_sq += static_cast<double>(noise.data[i]) * noise.data[i];
  }
  const double scale = sum_sq > 0 ? noise_std / std::sqrt(sum_sq / static_cast<double>(noise.size())) : 0.0;
  Image out = image;
  for (std::size_t i = 0; i < out.size(); ++i)
    out.data[i] = static_cast<float>(std::clamp(image.data[i] + scale * noise.data[i], 0.0, 1.0));
  return out;
}

}  // namespace

Image apply_bias(const Image& image, const BiasOptions& options, std::uint64_t seed) {
  if (options.op == "none") return image;
  if (options.op == "checkerboard") return checkerboard(image, options.blend);
  if (options.op == "blur") return gaussian_blur(image, options.sigma * image.height / 64.0);
  if (options.op == "hf_noise") return hf_noise(image, options.noise_std, seed);
  throw ConfigError("known_bias: unknown operator '" + options.op + "' (checkerboard, blur, hf_noise or none)");
}

namespace {

using Renderer = Image (*)(int, std::uint64_t, int);

class KnownBiasSource : public DatasetSource {
 public:
  KnownBiasSource(std::string task, Renderer renderer, int channels, std::uint64_t task_seed, BiasOptions bias,
                  std::uint64_t seed, long pool_per_class, std::string generator)
      : task_(std::move(task)),
        renderer_(renderer),
        channels_(channels),
        task_seed_(task_seed),
        bias_(std::move(bias)),
        seed_(seed),
        generator_(std::move(generator)) {
    char buffer[64];
    for (int label = 0; label < 2; ++label)
      for (long index = 0; index < pool_per_class; ++index) {
        Record record;
        record.group = label == 1 ? "positive" : "negative";
        std::snprintf(buffer, sizeof(buffer), "known_bias/%s/%06ld", record.group.c_str(), index);
        record.id = buffer;
        record.generator_index = index;
        record.label = label;
        record.split = Split::kUnassigned;
        records_.push_back(std::move(record));
      }
    finalize_records(name_, records_);
  }

  const std::string& name() const override { return name_; }
  const std::vector<Record>& records() const override { return records_; }
  int natural_channels() const override { return channels_; }
  std::string generator() const override { return generator_; }

  io::DecodedImage decode(const Record& record, const DecodeOptions& options) const override {
    const std::uint64_t image_seed =
        demo::image_seed(task_, task_seed_, kHeldOutSplit, record.label, record.generator_index);
    const std::uint64_t bias_seed = random::mix_seed(random::tag_seed("known_bias"), seed_,
                                                     static_cast<std::uint64_t>(record.label),
                                                     static_cast<std::uint64_t>(record.generator_index));
    return rendered_record(apply_bias(renderer_(options.size, image_seed, record.label), bias_, bias_seed),
                           options.channels);
  }

  std::string fingerprint(const std::vector<Record>& records) const override {
    Hasher hasher;
    hasher.update(kSourceVersion).update("\n").update(task_).update("\n").update(bias_.op).update("\n");
    hasher.update_pod(demo::generator_version(task_)).update_pod(task_seed_).update_pod(seed_);
    hasher.update_pod(bias_.blend).update_pod(bias_.sigma).update_pod(bias_.noise_std);
    for (const Record& record : records) hasher.update(record.id).update("\n");
    return hasher.hex();
  }

 private:
  std::string name_ = "known_bias";
  std::string task_;
  Renderer renderer_;
  int channels_;
  std::uint64_t task_seed_;
  BiasOptions bias_;
  std::uint64_t seed_;
  std::string generator_;
  std::vector<Record> records_;
};

config::Schema known_bias_schema() {
  config::Schema schema;
  schema.add_string("operator", "checkerboard",
                    "frequency bias applied to held-out real images: checkerboard (nearest x2 up-sampling + 3x3 "
                    "smoothing), blur (Gaussian), hf_noise (high-pass noise), none (the unbiased oracle)",
                    {"checkerboard", "blur", "hf_noise", "none"});
  schema.add_float("blend", 1.0, "checkerboard: weight of the biased image (1 = fully biased)", 0.0, 1.0);
  schema.add_float("sigma", 1.0, "blur: Gaussian sigma in pixels of a 64-pixel image (scaled with image_size)", 0.0,
                   64.0);
  schema.add_float("noise_std", 0.04, "hf_noise: standard deviation of the added high-pass noise", 0.0, 1.0);
  schema.add_int("seed", 0, "seed of the operator's randomness (hf_noise)", 0);
  schema.add_int("task_seed", 0, "the demo task's generator seed (data.<task>.seed) the held-out images come from", 0);
  schema.add_int("pool_per_class", 1000, "held-out images per class that counts.synthetic draws from", 1, 1000000);
  return schema;
}

}  // namespace

void register_known_bias(DatasetRegistry& registry) {
  registry.add(
      "known_bias",
      "positive control: held-out real images of a demo task through a named frequency-bias operator "
      "(operator none = the unbiased oracle)",
      known_bias_schema(), [](const config::Params& params, const SourceOptions& options) {
        static const std::map<std::string, std::pair<Renderer, int>> tasks = {
            {"demo_mri", {demo::render_mri, 1}}, {"demo_cxr", {demo::render_cxr, 1}},
            {"demo_fundus", {demo::render_fundus, 3}}};
        const auto task = tasks.find(options.task);
        if (task == tasks.end())
          throw ConfigError("known_bias: data.name is '" + options.task +
                            "'; the positive control renders held-out images of a demo task (demo_mri, demo_cxr or "
                            "demo_fundus)");
        if (options.image_size < 16 || options.image_size > 256)
          throw ConfigError("known_bias: data.image_size=" + std::to_string(options.image_size) +
                            " must be in [16, 256] for the demo tasks");
        BiasOptions bias;
        bias.op = params.get<std::string>("operator");
        bias.blend = params.get<double>("blend");
        bias.sigma = params.get<double>("sigma");
        bias.noise_std = params.get<double>("noise_std");
        if (bias.op == "checkerboard" && options.image_size % 2 != 0)
          throw ConfigError("known_bias: operator checkerboard needs an even data.image_size, got " +
                            std::to_string(options.image_size));
        const std::string generator = options.generator.empty() ? "known_bias:" + bias.op : options.generator;
        return std::unique_ptr<DatasetSource>(std::make_unique<KnownBiasSource>(
            options.task, task->second.first, task->second.second, static_cast<std::uint64_t>(params.get<long>("task_seed")),
            bias, static_cast<std::uint64_t>(params.get<long>("seed")), params.get<long>("pool_per_class"), generator));
      });
}

}  // namespace frerec::datasets
