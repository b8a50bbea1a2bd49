#include "models/generators/gan_trainer.h"

#include <ATen/ATen.h>
#include <torch/optim/adam.h>
#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/core/system_info.h"
#include "framework/io/state_dict.h"
#include "framework/train/sample_source.h"
#include "framework/train/trainer.h"
#include "models/generators/diff_augment.h"
#include "models/generators/gan.h"
#include "models/generators/generator_io.h"
#include "models/generators/sample_grid.h"

namespace frerec::generators {
namespace fs = std::filesystem;

namespace {

constexpr const char* kStateFormat = "frerec-gan-state/1";
// derive_seed streams of this trainer (first part), apart from the per-step stream.
constexpr std::uint64_t kInitStream = 101, kStepStream = 102, kBatchStatsStream = 103, kCriticStream = 104;
constexpr std::uint64_t kGridSeed = 0;  // latents of the progress grids: seed 0, indices 0..n-1

using Clock = std::chrono::steady_clock;

at::Tensor to_batch_tensor(const std::vector<Image>& images) {
  const Image& first = images.front();
  const std::size_t per = first.size();
  at::Tensor out = at::empty({static_cast<int64_t>(images.size()), first.channels, first.height, first.width});
  float* data = out.data_ptr<float>();
  for (std::size_t i = 0; i < images.size(); ++i) std::copy(images[i].data.begin(), images[i].data.end(), data + i * per);
  return out;
}

std::vector<Image> to_images(const at::Tensor& batch) {
  const at::Tensor t = batch.detach().contiguous();
  const int n = static_cast<int>(t.size(0)), c = static_cast<int>(t.size(1)), h = static_cast<int>(t.size(2)),
            w = static_cast<int>(t.size(3));
  const float* data = t.data_ptr<float>();
  std::vector<Image> images;
  for (int i = 0; i < n; ++i) {
    Image image(c, h, w);
    std::copy(data + static_cast<std::size_t>(i) * image.size(), data + static_cast<std::size_t>(i + 1) * image.size(),
              image.data.begin());
    images.push_back(std::move(image));
  }
  return images;
}

// EMA G images for the progress grid: seed 0, indices 0..n-1 of each class.
std::vector<Image> grid_images(Generator& generator, int label, int count) {
  std::vector<int64_t> indices(static_cast<std::size_t>(count));
  for (int k = 0; k < count; ++k) indices[static_cast<std::size_t>(k)] = k;
  at::NoGradGuard no_grad;
  const Latents latents = latents_for(*generator, kGridSeed, label, indices);
  const at::Tensor out = generator->forward(latents.z, at::full({count}, label, at::kLong), latents.noise);
  return to_images(((out + 1.0) * 0.5).clamp(0.0, 1.0));
}

c10::Dict<std::string, at::Tensor> tensor_dict(const torch::nn::Module& module) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, tensor] : io::state_dict(module)) dict.insert(key, tensor.detach().clone());
  return dict;
}

std::vector<std::pair<std::string, at::Tensor>> from_tensor_dict(const c10::IValue& value) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : value.toGenericDict()) out.emplace_back(item.key().toStringRef(), item.value().toTensor());
  return out;
}

at::Tensor optimizer_bytes(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string data = bytes.str();
  return at::from_blob(const_cast<char*>(data.data()), {static_cast<int64_t>(data.size())}, at::kByte).clone();
}

void load_optimizer(torch::optim::Optimizer& optimizer, const at::Tensor& bytes) {
  const at::Tensor contiguous = bytes.contiguous();
  std::istringstream stream(std::string(static_cast<const char*>(contiguous.data_ptr()), contiguous.numel()));
  torch::serialize::InputArchive archive;
  archive.load_from(stream);
  optimizer.load(archive);
}

struct Networks {
  Generator g{nullptr};
  Discriminator d{nullptr};
  Generator g_ema{nullptr};
  ClassCritic critic{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
};

void save_state(const fs::path& path, Networks& nets, long step, const std::string& fingerprint,
                const std::string& log_text) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", std::string(kStateFormat));
  dict.insert("fingerprint", fingerprint);
  dict.insert("step", static_cast<int64_t>(step));
  dict.insert("generator", tensor_dict(*nets.g));
  dict.insert("discriminator", tensor_dict(*nets.d));
  dict.insert("generator_ema", tensor_dict(*nets.g_ema));
  dict.insert("critic", tensor_dict(*nets.critic));
  dict.insert("optimizer_g", optimizer_bytes(*nets.opt_g));
  dict.insert("optimizer_d", optimizer_bytes(*nets.opt_d));
  dict.insert("log", log_text);
  const std::vector<char> pickled = torch::pickle_save(c10::IValue(dict));
  write_file_atomic(path, std::string(pickled.begin(), pickled.end()));
}

// Returns the step of the state, after loading it into `nets`; -1 if absent.
long load_state(const fs::path& path, Networks& nets, const std::string& fingerprint, std::string& log_text) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return -1;
  const std::string bytes = read_file(path);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    throw RunError("generator: training state '" + path.string() + "' is unreadable (" +
                   std::string(e.what()).substr(0, 160) + "); delete it or rerun with --fresh");
  }
  if (!value.isGenericDict()) throw RunError("generator: '" + path.string() + "' is not a generator training state");
  const auto dict = value.toGenericDict();
  if (!dict.contains("format") || dict.at("format").toStringRef() != kStateFormat)
    throw RunError("generator: '" + path.string() + "' is not a generator training state (" + kStateFormat + ")");
  if (dict.at("fingerprint").toStringRef() != fingerprint)
    throw RunError("generator: the training state in '" + path.parent_path().string() +
                   "' was made with other generator settings or other training data; rerun with --fresh to start "
                   "over, or choose another --out");
  io::load_state(*nets.g, from_tensor_dict(dict.at("generator")), /*strict=*/true, "generator: state G");
  io::load_state(*nets.d, from_tensor_dict(dict.at("discriminator")), /*strict=*/true, "generator: state D");
  io::load_state(*nets.g_ema, from_tensor_dict(dict.at("generator_ema")), /*strict=*/true, "generator: state EMA G");
  io::load_state(*nets.critic, from_tensor_dict(dict.at("critic")), /*strict=*/true, "generator: state class critic");
  load_optimizer(*nets.opt_g, dict.at("optimizer_g").toTensor());
  load_optimizer(*nets.opt_d, dict.at("optimizer_d").toTensor());
  log_text = dict.at("log").toStringRef();
  return static_cast<long>(dict.at("step").toInt());
}

void check_finite(double value, const std::string& what, long step) {
  if (!std::isfinite(value))
    throw RunError(fmt::format("generator: {} is {} at step {}; lower generator.lr_g / lr_d or change the seed", what,
                               value, step));
}

}  // namespace

// ---------------------------------------------------------------- options
config::Schema generator_schema() {
  config::Schema s;
  s.add_int("z_dim", 64, "latent size of G", 1, 4096);
  s.add_int("embed_dim", 32, "class embedding concatenated with z (0 = conditional BN only)", 0, 4096);
  s.add_int("g_width", 8, "G channels at the output resolution (doubling per halving, capped)", 1, 4096);
  s.add_int("g_max_width", 128, "cap of G's channel count", 1, 4096);
  s.add_int("d_width", 32, "D channels after its first downsampling (doubling per halving, capped)", 1, 4096);
  s.add_int("d_max_width", 256, "cap of D's channel count", 1, 4096);
  s.add_int("d_mbstd_group", 4, "minibatch standard-deviation group size in D (0 = off)", 0, 64);
  s.add_int("g_zmod", 1, "z-dependent BN gains/biases in G (self-modulation; 0 = class only)", 0, 1);
  s.add_int("g_noise", 1, "per-pixel noise injection in G's up blocks (FastGAN NoiseInjection; 0 = off)", 0, 1);
  s.add_int("steps", 1800, "training iterations (one D and one G update each); raise it to continue a run", 1, 100000000);
  s.add_int("batch_size", 16, "real (and fake) images per iteration", 1, 4096);
  s.add_float("lr_g", 2e-4, "Adam learning rate of G", 0.0, 1.0);
  s.add_float("lr_d", 2e-4, "Adam learning rate of D", 0.0, 1.0);
  s.add_float("beta1", 0.5, "Adam β1", 0.0, 1.0);
  s.add_float("beta2", 0.999, "Adam β2", 0.0, 1.0);
  s.add_string("loss", "hinge", "adversarial loss", {"hinge", "nonsaturating"});
  s.add_float("ema_decay", 0.995, "EMA decay of G's weights (warm-up min(decay, (1+t)/(10+t)))", 0.0, 1.0);
  s.add_float("diversity", 10.0,
              "weight of the diversity hinge in G's loss: same-class fake pairs at 1/4 resolution should differ as "
              "much as real pairs (0 = off)",
              0.0, 1000.0);
  s.add_float("class_weight", 1.0,
              "weight of the class critic's cross-entropy on G's images (a CNN trained on the real images, then "
              "frozen; 0 = projection conditioning only)",
              0.0, 1000.0);
  s.add_int("critic_steps", 800, "training steps (batch 32, Adam 1e-3) of the class critic before the GAN", 1,
            1000000);
  s.add_string("diff_augment", "translation",
               "DiffAugment ops on all images D sees: any of color,translation,cutout (or none)");
  s.add_int("seed", 0, "seed of initialisation and every training draw", 0);
  s.add_int("sample_every", 300, "write an EMA-G sample grid every N steps (and at the end)", 1, 100000000);
  s.add_int("checkpoint_every", 300, "write the full training state every N steps (and at the end)", 1, 100000000);
  s.add_int("log_every", 50, "append losses to train_log.jsonl every N steps", 1, 100000000);
  s.add_int("grid_per_class", 8, "images per class in the sample grids", 1, 64);
  s.add_int("bn_stats_batches", 8, "batches for G's standing BatchNorm statistics", 1, 10000);
  s.add_int("bn_stats_batch", 64, "images per standing-statistics batch", 2, 4096);
  return s;
}

void GanTrainOptions::validate() const {
  auto fail = [](const std::string& key, const std::string& value, const std::string& fix) {
    throw ConfigError("generator: generator." + key + "=" + value + " " + fix);
  };
  if (steps < 1) fail("steps", std::to_string(steps), "must be >= 1");
  if (batch_size < 1) fail("batch_size", std::to_string(batch_size), "must be >= 1");
  if (!(lr_g > 0)) fail("lr_g", fmt::format("{}", lr_g), "must be > 0");
  if (!(lr_d > 0)) fail("lr_d", fmt::format("{}", lr_d), "must be > 0");
  if (beta1 < 0 || beta1 >= 1) fail("beta1", fmt::format("{}", beta1), "must be in [0, 1)");
  if (beta2 < 0 || beta2 >= 1) fail("beta2", fmt::format("{}", beta2), "must be in [0, 1)");
  if (loss != "hinge" && loss != "nonsaturating") fail("loss", loss, "must be hinge or nonsaturating");
  if (!(class_weight >= 0)) fail("class_weight", fmt::format("{}", class_weight), "must be >= 0");
  if (critic_steps < 1) fail("critic_steps", std::to_string(critic_steps), "must be >= 1");
  if (ema_decay < 0 || ema_decay >= 1) fail("ema_decay", fmt::format("{}", ema_decay), "must be in [0, 1)");
  parse_diff_augment(diff_augment, "generator.diff_augment");
  if (sample_every < 1 || checkpoint_every < 1 || log_every < 1)
    fail("sample_every/checkpoint_every/log_every", "0", "must be >= 1");
  if (g_max_width < g_width) fail("g_max_width", std::to_string(g_max_width), "must be >= g_width");
  if (d_max_width < d_width) fail("d_max_width", std::to_string(d_max_width), "must be >= d_width");
}

std::string GanTrainOptions::fingerprint() const {
  nlohmann::json j = nlohmann::json::parse(canonical());
  for (const char* key : {"steps", "sample_every", "checkpoint_every", "log_every", "grid_per_class"}) j.erase(key);
  return j.dump();
}

std::string GanTrainOptions::canonical() const {
  const nlohmann::json j = {{"z_dim", z_dim}, {"embed_dim", embed_dim}, {"g_width", g_width},
                            {"g_max_width", g_max_width}, {"d_width", d_width}, {"d_max_width", d_max_width},
                            {"d_mbstd_group", d_mbstd_group}, {"g_noise", g_noise}, {"g_zmod", g_zmod}, {"steps", steps}, {"batch_size", batch_size}, {"lr_g", lr_g}, {"lr_d", lr_d},
                            {"beta1", beta1}, {"beta2", beta2}, {"loss", loss}, {"ema_decay", ema_decay}, {"diversity", diversity}, {"class_weight", class_weight}, {"critic_steps", critic_steps},
                            {"diff_augment", diff_augment}, {"seed", seed}, {"sample_every", sample_every},
                            {"checkpoint_every", checkpoint_every}, {"log_every", log_every},
                            {"grid_per_class", grid_per_class}, {"bn_stats_batches", bn_stats_batches},
                            {"bn_stats_batch", bn_stats_batch}};
  return j.dump();
}

GanTrainOptions gan_options_from(const config::Params& p) {
  GanTrainOptions o;
  o.z_dim = p.get<int>("z_dim");
  o.embed_dim = p.get<int>("embed_dim");
  o.g_width = p.get<int>("g_width");
  o.g_max_width = p.get<int>("g_max_width");
  o.d_width = p.get<int>("d_width");
  o.d_max_width = p.get<int>("d_max_width");
  o.d_mbstd_group = p.get<int>("d_mbstd_group");
  o.g_noise = p.get<int>("g_noise");
  o.g_zmod = p.get<int>("g_zmod");
  o.steps = p.get<long>("steps");
  o.batch_size = p.get<int>("batch_size");
  o.lr_g = p.get<double>("lr_g");
  o.lr_d = p.get<double>("lr_d");
  o.beta1 = p.get<double>("beta1");
  o.beta2 = p.get<double>("beta2");
  o.loss = p.get<std::string>("loss");
  o.ema_decay = p.get<double>("ema_decay");
  o.diversity = p.get<double>("diversity");
  o.class_weight = p.get<double>("class_weight");
  o.critic_steps = p.get<long>("critic_steps");
  o.diff_augment = p.get<std::string>("diff_augment");
  o.seed = p.get<std::uint64_t>("seed");
  o.sample_every = p.get<long>("sample_every");
  o.checkpoint_every = p.get<long>("checkpoint_every");
  o.log_every = p.get<long>("log_every");
  o.grid_per_class = p.get<int>("grid_per_class");
  o.bn_stats_batches = p.get<int>("bn_stats_batches");
  o.bn_stats_batch = p.get<int>("bn_stats_batch");
  o.validate();
  return o;
}

std::string training_data_fingerprint(const std::vector<Image>& images, const std::vector<int>& labels) {
  Hasher hasher;
  hasher.update("frerec.generators.data/1").update_pod(static_cast<std::uint64_t>(images.size()));
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Image& image = images[i];
    hasher.update_pod(image.channels).update_pod(image.height).update_pod(image.width);
    hasher.update(image.data.data(), image.data.size() * sizeof(float));
    hasher.update_pod(i < labels.size() ? labels[i] : -1);
  }
  return hasher.hex();
}

// ---------------------------------------------------------------- class critic
namespace {

// Accuracy on the (unaugmented) images; freezes the critic in eval mode.
double critic_accuracy(ClassCritic& critic, const at::Tensor& real, const at::Tensor& labels) {
  at::NoGradGuard no_grad;
  critic->eval();
  for (auto& p : critic->parameters()) p.requires_grad_(false);
  int64_t correct = 0;
  const int64_t n = real.size(0);
  for (int64_t start = 0; start < n; start += 256) {
    const int64_t count = std::min<int64_t>(256, n - start);
    correct += critic->forward(real.narrow(0, start, count)).argmax(1).eq(labels.narrow(0, start, count)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

// Trains the class critic on the real images (translation-augmented like D's inputs) with
// Adam 1e-3, batch 32; returns its accuracy on the unaugmented images. Leaves it frozen in
// eval mode.
double train_critic(ClassCritic& critic, const at::Tensor& real, const at::Tensor& labels, const GanTrainOptions& options,
                    const std::vector<AugmentOp>& augment) {
  critic->train();
  torch::optim::Adam optimizer(critic->parameters(), torch::optim::AdamOptions(1e-3));
  const int64_t n = real.size(0);
  const int64_t batch = std::min<int64_t>(32, n);
  for (long step = 1; step <= options.critic_steps; ++step) {
    train::seed_global_torch(train::derive_seed(options.seed, {kCriticStream, static_cast<std::uint64_t>(step)}));
    const at::Tensor index = at::randint(0, n, {batch}, at::kLong);
    const at::Tensor loss =
        at::cross_entropy_loss(critic->forward(diff_augment(real.index_select(0, index), augment)),
                               labels.index_select(0, index));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    check_finite(loss.item<double>(), "the class critic's loss", step);
  }
  return critic_accuracy(critic, real, labels);
}


}  // namespace

// ---------------------------------------------------------------- training
GanTrainResult train_gan(const GanTrainOptions& options, const GanTrainData& data, const fs::path& out_dir,
                         const RunContext& context, bool fresh, long max_steps_this_run) {
  options.validate();
  if (data.images.empty()) throw RunError("generator: no training images for task '" + data.task + "'");
  if (data.labels.size() != data.images.size())
    throw InternalError("generator: one label per training image is required");
  GanArchitecture arch;
  arch.image_size = data.images.front().height;
  arch.channels = data.images.front().channels;
  arch.num_classes = data.num_classes;
  arch.z_dim = options.z_dim;
  arch.embed_dim = options.embed_dim;
  arch.g_width = options.g_width;
  arch.g_max_width = options.g_max_width;
  arch.d_width = options.d_width;
  arch.d_max_width = options.d_max_width;
  arch.d_mbstd_group = options.d_mbstd_group;
  arch.g_noise = options.g_noise;
  arch.g_zmod = options.g_zmod;
  if (data.images.front().width != arch.image_size)
    throw ConfigError(fmt::format("generator: training images are {}x{}; the GAN needs square images",
                                  data.images.front().height, data.images.front().width));
  arch.validate("data");
  for (const Image& image : data.images)
    if (!image.same_shape(data.images.front()))
      throw RunError("generator: training images of different shapes in task '" + data.task + "'");
  for (int label : data.labels)
    if (label < 0 || label >= data.num_classes)
      throw RunError(fmt::format("generator: label {} outside [0, {})", label, data.num_classes));
  const std::vector<AugmentOp> augment = parse_diff_augment(options.diff_augment, "generator.diff_augment");
  if (context.device != "cpu")
    spdlog::warn("generator: training runs on the CPU (device '{}' requested; the demo GANs are CPU-sized)",
                 context.device);

  GanTrainResult result;
  result.data_fingerprint = training_data_fingerprint(data.images, data.labels);
  const std::string fingerprint = options.fingerprint() + ";arch=" + arch.describe() + ";data=" + result.data_fingerprint;

  fs::create_directories(out_dir);
  const fs::path state_path = out_dir / "state.pt";
  const fs::path log_path = out_dir / "train_log.jsonl";
  if (fresh) {
    std::error_code ec;
    fs::remove(state_path, ec);
    fs::remove(log_path, ec);
    fs::remove(out_dir / "generator.safetensors", ec);
    fs::remove_all(out_dir / "samples", ec);
  }

  // Networks: initialised from the seed, then (maybe) overwritten by the saved state.
  train::seed_global_torch(train::derive_seed(options.seed, {kInitStream}));
  Networks nets;
  nets.g = Generator(arch);
  nets.d = Discriminator(arch);
  nets.g_ema = Generator(arch);
  nets.critic = ClassCritic(arch.channels, arch.num_classes);
  io::load_state(*nets.g_ema, io::state_dict(*nets.g), /*strict=*/true, "generator: EMA copy");
  nets.opt_g = std::make_unique<torch::optim::Adam>(
      nets.g->parameters(), torch::optim::AdamOptions(options.lr_g).betas({options.beta1, options.beta2}));
  nets.opt_d = std::make_unique<torch::optim::Adam>(
      nets.d->parameters(), torch::optim::AdamOptions(options.lr_d).betas({options.beta1, options.beta2}));
  std::string log_text;
  long step = std::max(0L, load_state(state_path, nets, fingerprint, log_text));
  result.resumed = step > 0;
  if (result.resumed) spdlog::info("generator: resuming {} from step {} ({})", data.task, step, state_path.string());
  spdlog::info("generator: {} on {} images ({}), G {} parameters, D {} parameters, {} steps of batch {}", data.task,
               data.images.size(), arch.describe(), count_parameters(*nets.g), count_parameters(*nets.d),
               options.steps, options.batch_size);

  const at::Tensor real_all = to_batch_tensor(data.images) * 2.0 - 1.0;
  std::vector<int64_t> label_values(data.labels.begin(), data.labels.end());
  const at::Tensor labels_all = at::from_blob(label_values.data(), {static_cast<int64_t>(label_values.size())}, at::kLong).clone();
  const int64_t n_real = real_all.size(0);
  const int64_t batch = options.batch_size;

  if (options.class_weight > 0) {
    if (step == 0) {
      const auto critic_start = Clock::now();
      result.critic_accuracy = train_critic(nets.critic, real_all, labels_all, options, augment);
      spdlog::info("generator: class critic trained ({} steps, {:.1f} s): accuracy {:.3f} on the training images",
                   options.critic_steps, std::chrono::duration<double>(Clock::now() - critic_start).count(),
                   result.critic_accuracy);
    } else {
      result.critic_accuracy = critic_accuracy(nets.critic, real_all, labels_all);
    }
  }

  auto ema_params = nets.g_ema->parameters();
  auto g_params = nets.g->parameters();
  auto d_params = nets.d->parameters();

  auto write_grid = [&](long at_step) {
    nets.g_ema->recompute_batch_stats(options.bn_stats_batches, options.bn_stats_batch,
                                      train::derive_seed(options.seed, {kBatchStatsStream}));
    std::vector<GridRow> rows;
    for (int label = 0; label < data.num_classes; ++label)
      rows.push_back({"EMA " + data.class_names.at(static_cast<std::size_t>(label)),
                      grid_images(nets.g_ema, label, options.grid_per_class)});
    nets.g->eval();
    for (int label = 0; label < data.num_classes; ++label)
      rows.push_back({"raw G " + data.class_names.at(static_cast<std::size_t>(label)),
                      grid_images(nets.g, label, options.grid_per_class)});
    nets.g->train();
    write_image_grid(out_dir / "samples" / fmt::format("step_{:07d}.png", at_step),
                     fmt::format("{} generator, step {}", data.task, at_step), rows);
  };

  const long target = max_steps_this_run > 0 ? std::min(options.steps, step + max_steps_this_run) : options.steps;
  // Progress (and its ETA) counts this run's steps; the status shows the global step.
  const long start_step = step;
  Progress progress("generator " + data.task, static_cast<std::size_t>(std::max(0L, target - start_step)),
                    context.interactive);
  const auto run_start = Clock::now();
  auto interval_start = Clock::now();
  double sum_d = 0, sum_g = 0, sum_real = 0, sum_fake = 0, sum_real_std = 0, sum_fake_std = 0;
  double sum_real_pairs = 0, sum_fake_pairs = 0, sum_class = 0;
  long interval_steps = 0;
  nets.g->train();
  nets.d->train();
  nets.g_ema->eval();
  const bool hinge = options.loss == "hinge";

  while (step < target) {
    ++step;
    train::seed_global_torch(train::derive_seed(options.seed, {kStepStream, static_cast<std::uint64_t>(step)}));
    const at::Tensor index = at::randint(0, n_real, {batch}, at::kLong);
    const at::Tensor real = real_all.index_select(0, index);
    const at::Tensor labels = labels_all.index_select(0, index);

    // D step: real and fake through D as one batch.
    at::Tensor fake;
    {
      at::NoGradGuard no_grad;
      fake = nets.g->forward(at::randn({batch, arch.z_dim}), labels);
    }
    for (auto& p : d_params) p.requires_grad_(true);
    at::Tensor d_real, d_fake;
    if (options.d_mbstd_group <= 1 || batch % options.d_mbstd_group == 0) {
      const at::Tensor both = diff_augment(at::cat({real, fake}, 0), augment);
      const at::Tensor logits = nets.d->forward(both, at::cat({labels, labels}, 0));
      d_real = logits.narrow(0, 0, batch);
      d_fake = logits.narrow(0, batch, batch);
    } else {
      d_real = nets.d->forward(diff_augment(real, augment), labels);
      d_fake = nets.d->forward(diff_augment(fake, augment), labels);
    }
    const at::Tensor loss_d = hinge ? at::relu(1.0 - d_real).mean() + at::relu(1.0 + d_fake).mean()
                                    : at::softplus(-d_real).mean() + at::softplus(d_fake).mean();
    nets.opt_d->zero_grad();
    loss_d.backward();
    nets.opt_d->step();

    // G step (D frozen: gradients only reach the images).
    for (auto& p : d_params) p.requires_grad_(false);
    const at::Tensor z_g = at::randn({batch, arch.z_dim});
    // With the diversity term, the second half repeats the first half's classes so that each
    // pair (i, i + B/2) differs in z (and noise) only.
    const bool seek = options.diversity > 0 && batch >= 2;
    const int64_t half = batch / 2;
    const at::Tensor g_labels =
        seek ? at::cat({labels.narrow(0, 0, half), labels.narrow(0, 0, batch - half)}, 0) : labels;
    const at::Tensor generated = nets.g->forward(z_g, g_labels);
    const at::Tensor augmented = diff_augment(generated, augment);
    const at::Tensor g_logits = nets.d->forward(augmented, g_labels);
    at::Tensor loss_g = hinge ? -g_logits.mean() : at::softplus(-g_logits).mean();
    if (options.class_weight > 0) {
      const at::Tensor class_loss = at::cross_entropy_loss(nets.critic->forward(augmented), g_labels);
      loss_g = loss_g + options.class_weight * class_loss;
      sum_class += class_loss.item<double>();
    }
    if (seek) {
      // Diversity hinge: pairs (i, i + B/2) of the same class should differ, at 1/4
      // resolution (structure, not pixel noise), at least as much as pairs of real images
      // of this step's batch do; pairs that already do cost nothing (unlike MSGAN's
      // unbounded ratio, which a few off-manifold samples can satisfy for all).
      auto coarse_distance = [&](const at::Tensor& images) {
        const at::Tensor pooled = at::avg_pool2d(images, {4, 4});
        return (pooled.narrow(0, 0, half) - pooled.narrow(0, half, half)).abs().mean({1, 2, 3});
      };
      const at::Tensor target = coarse_distance(real).mean().detach();
      const at::Tensor fake_distance = coarse_distance(generated);
      loss_g = loss_g + options.diversity * at::relu(target - fake_distance).mean();
      sum_real_pairs += target.item<double>();
      sum_fake_pairs += fake_distance.mean().item<double>();
    }
    nets.opt_g->zero_grad();
    loss_g.backward();
    nets.opt_g->step();

    // EMA of G's parameters.
    {
      at::NoGradGuard no_grad;
      const double decay = std::min(options.ema_decay, (1.0 + step) / (10.0 + step));
      for (std::size_t i = 0; i < ema_params.size(); ++i) ema_params[i].mul_(decay).add_(g_params[i], 1.0 - decay);
    }

    const double dl = loss_d.item<double>(), gl = loss_g.item<double>();
    check_finite(dl, "the discriminator loss", step);
    check_finite(gl, "the generator loss", step);
    sum_d += dl;
    sum_g += gl;
    sum_real += d_real.mean().item<double>();
    sum_fake += d_fake.mean().item<double>();
    // Diversity: per-pixel std over the batch, averaged (collapse drives the fake one to 0).
    sum_fake_std += generated.detach().std(0).mean().item<double>();
    sum_real_std += real.std(0).mean().item<double>();
    ++interval_steps;
    ++result.steps_this_run;
    progress.set(static_cast<std::size_t>(step - start_step),
                 fmt::format("step {}/{} D {:.3f} G {:.3f}", step, options.steps, dl, gl));

    if (step % options.log_every == 0 || step == options.steps) {
      const double seconds = std::chrono::duration<double>(Clock::now() - interval_start).count();
      const nlohmann::json line = {{"step", step},
                                   {"d_loss", sum_d / interval_steps},
                                   {"g_loss", sum_g / interval_steps},
                                   {"d_real", sum_real / interval_steps},
                                   {"d_fake", sum_fake / interval_steps},
                                   {"real_std", sum_real_std / interval_steps},
                                   {"fake_std", sum_fake_std / interval_steps},
                                   {"real_pair_distance", sum_real_pairs / interval_steps},
                                   {"fake_pair_distance", sum_fake_pairs / interval_steps},
                                   {"class_loss", sum_class / interval_steps},
                                   {"seconds", seconds},
                                   {"steps_per_second", interval_steps / std::max(seconds, 1e-9)}};
      log_text += line.dump() + "\n";
      write_file_atomic(log_path, log_text);
      sum_d = sum_g = sum_real = sum_fake = sum_real_std = sum_fake_std = sum_real_pairs = sum_fake_pairs = sum_class = 0;
      interval_steps = 0;
      interval_start = Clock::now();
    }
    if (step % options.sample_every == 0 || step == options.steps) {
      write_grid(step);
    }
    if (step % options.checkpoint_every == 0 || step == options.steps || step == target)
      save_state(state_path, nets, step, fingerprint, log_text);
  }
  result.steps = step;
  result.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  result.steps_per_second = result.steps_this_run / std::max(result.seconds, 1e-9);
  progress.finish(fmt::format("{} steps this run, {:.2f} steps/s", result.steps_this_run, result.steps_per_second));
  if (step < options.steps) {
    spdlog::info("generator: stopped at step {} of {} (state saved; run again to continue)", step, options.steps);
    return result;
  }

  // Export the EMA generator with standing statistics.
  nets.g_ema->recompute_batch_stats(options.bn_stats_batches, options.bn_stats_batch,
                                    train::derive_seed(options.seed, {kBatchStatsStream}));
  std::map<std::string, std::string> metadata = {
      {"task", data.task},
      {"data_section", data.data_section_yaml},
      {"data_fingerprint", result.data_fingerprint},
      {"training_images", std::to_string(data.images.size())},
      {"steps", std::to_string(step)},
      {"seed", std::to_string(options.seed)},
      {"train_config", options.canonical()},
      {"command_line", data.command_line},
      {"created", iso_time_utc()},
      {"frerec_version", frerec_version()},
      {"git_commit", git_commit()},
      {"class_names", fmt::format("{}", fmt::join(data.class_names, ","))},
      {"standing_stats", fmt::format("{}x{}", options.bn_stats_batches, options.bn_stats_batch)},
      {"critic_accuracy", fmt::format("{:.4f}", result.critic_accuracy)}};
  result.generator_file = out_dir / "generator.safetensors";
  save_generator(result.generator_file, nets.g_ema, metadata);
  spdlog::info("generator: wrote {} ({} steps, {:.1f} s this run)", result.generator_file.string(), step, result.seconds);
  return result;
}

}  // namespace frerec::generators
