#include "augmentations/frerec/rhm.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/random.h"
#include "framework/io/state_dict.h"
#include "framework/train/checkpoint.h"
#include "augmentations/frerec/rhm_loss.h"
#include "models/restoration/restormer.h"
#include "models/restoration/weights.h"

namespace frerec::rhm {
using io::NamedTensors;
using restoration::initialize_parameters;
using restoration::paper_dae_options;
using restoration::read_weights;
using restoration::Restormer;
using restoration::RestormerOptions;
using restoration::restormer_options_from;
using restoration::frerec_dae_schema;

namespace {

constexpr const char* kCheckpointFormat = "frerec-dae-checkpoint-1";

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {  // splitmix64 of a combined key
  return random::splitmix64_finalize(a * random::kSplitMixGamma + b + 0x632BE59BD9B4E019ULL);
}

at::Tensor to_tensor(const Image& image) {
  return at::from_blob(const_cast<float*>(image.data.data()), {image.channels, image.height, image.width},
                       at::kFloat)
      .clone();
}

Image to_image(const at::Tensor& chw) {
  auto t = chw.detach().to(at::kCPU, at::kFloat).contiguous();
  Image image(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), static_cast<int>(t.size(2)));
  std::copy(t.data_ptr<float>(), t.data_ptr<float>() + t.numel(), image.data.begin());
  return image;
}

// Bottom/right padding to a multiple of `multiple`: reflect (official practice), replicate
// when the image is too small for a reflection of that width.
at::Tensor pad_to_multiple(const at::Tensor& x, int64_t multiple) {
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t ph = (multiple - h % multiple) % multiple, pw = (multiple - w % multiple) % multiple;
  if (ph == 0 && pw == 0) return x;
  if (ph < h && pw < w) return at::reflection_pad2d(x, {0, pw, 0, ph});
  return at::replication_pad2d(x, {0, pw, 0, ph});
}

void check_channels(const Restormer& net, const Image& image, std::size_t index, const std::string& what) {
  if (image.channels != net->options().in_channels)
    throw RunError("restoration: " + what + " image " + std::to_string(index) + " has " +
                   std::to_string(image.channels) + " channel(s) but the auto-encoder expects " +
                   std::to_string(net->options().in_channels) +
                   " (set network.in_channels to match the images, or convert the images)");
  if (image.empty() || image.size() != static_cast<std::size_t>(image.channels) * image.plane_size())
    throw RunError("restoration: " + what + " image " + std::to_string(index) + " is empty or malformed");
}

// Runs the network on images (grouped by shape, in batches); returns clamped [C,H,W] tensors.
std::vector<at::Tensor> restore_tensors(Restormer& net, const std::vector<Image>& images, int batch_size,
                                        const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  std::map<std::tuple<int, int, int>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < images.size(); ++i) {
    check_channels(net, images[i], i, "input");
    groups[{images[i].channels, images[i].height, images[i].width}].push_back(i);
  }
  std::vector<at::Tensor> outputs(images.size());
  const std::size_t batch = static_cast<std::size_t>(std::max(1, batch_size));
  for (const auto& [shape, indices] : groups) {
    for (std::size_t start = 0; start < indices.size(); start += batch) {
      const std::size_t end = std::min(indices.size(), start + batch);
      std::vector<at::Tensor> items;
      for (std::size_t k = start; k < end; ++k) items.push_back(to_tensor(images[indices[k]]));
      auto x = at::stack(items).to(device);
      auto y = net->forward(pad_to_multiple(x, 8))
                   .narrow(2, 0, std::get<1>(shape))
                   .narrow(3, 0, std::get<2>(shape))
                   .clamp(0.0, 1.0)
                   .to(at::kCPU);
      for (std::size_t k = start; k < end; ++k) outputs[indices[k]] = y[static_cast<int64_t>(k - start)].contiguous();
    }
  }
  if (was_training) net->train();
  return outputs;
}

double psnr_tensor(const at::Tensor& a, const at::Tensor& b) {
  const double mse = (a - b).pow(2).mean().item<double>();
  return mse <= 1e-20 ? 200.0 : 10.0 * std::log10(1.0 / mse);
}

double ssim_tensor(const at::Tensor& a_chw, const at::Tensor& b_chw) {
  const int64_t c = a_chw.size(0), h = a_chw.size(1), w = a_chw.size(2);
  int64_t window = std::min<int64_t>({11, h, w});
  if (window % 2 == 0) --window;
  const double sigma = 1.5;
  auto coords = at::arange(window, at::kDouble) - static_cast<double>(window / 2);
  auto g = at::exp(-(coords * coords) / (2 * sigma * sigma));
  g = g / g.sum();
  auto kernel = at::outer(g, g).to(at::kFloat).view({1, 1, window, window}).repeat({c, 1, 1, 1});
  auto filt = [&](const at::Tensor& t) { const std::vector<int64_t> one{1, 1}, zero{0, 0};
    return at::conv2d(t, kernel, at::Tensor(), at::IntArrayRef(one), at::IntArrayRef(zero), at::IntArrayRef(one), c); };
  auto a = a_chw.unsqueeze(0).to(at::kFloat), b = b_chw.unsqueeze(0).to(at::kFloat);
  auto mu_a = filt(a), mu_b = filt(b);
  auto var_a = filt(a * a) - mu_a * mu_a, var_b = filt(b * b) - mu_b * mu_b, cov = filt(a * b) - mu_a * mu_b;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
  return ssim_map.mean().item<double>();
}

struct TrainState {
  int epoch = 0;               // epochs completed
  std::int64_t global_step = 0;
  std::vector<DaeEpochStats> history;
};

nlohmann::json history_json(const std::vector<DaeEpochStats>& history) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : history)
    out.push_back({{"epoch", s.epoch}, {"train_loss", s.train_loss}, {"train_pixel", s.train_pixel},
                   {"train_spectral", s.train_spectral}, {"val_loss", s.val_loss}, {"val_psnr", s.val_psnr},
                   {"val_ssim", s.val_ssim}, {"input_psnr", s.input_psnr}, {"lr", s.lr}, {"seconds", s.seconds}});
  return out;
}

std::vector<DaeEpochStats> history_from(const nlohmann::json& entries) {
  std::vector<DaeEpochStats> history;
  for (const auto& j : entries) {
    DaeEpochStats s;
    s.epoch = j.at("epoch");
    s.train_loss = j.at("train_loss");
    s.train_pixel = j.at("train_pixel");
    s.train_spectral = j.at("train_spectral");
    s.val_loss = j.at("val_loss");
    s.val_psnr = j.at("val_psnr");
    s.val_ssim = j.at("val_ssim");
    s.input_psnr = j.at("input_psnr");
    s.lr = j.at("lr");
    s.seconds = j.at("seconds");
    history.push_back(s);
  }
  return history;
}

// Checkpoints: the shared format (framework/train/checkpoint.h), kind "dae", module "model",
// optimizer "adamw"; meta holds the architecture (YAML), the training config, epoch, global
// step and the learning curve. Checkpoints of the earlier DAE-only format (a dict with format
// "frerec-dae-checkpoint-1") are still read, so calibrated folders made before keep working.
constexpr const char* kKind = "dae";
constexpr const char* kLegacyFormat = "frerec-dae-checkpoint-1";

struct DaeCheckpoint {
  std::string architecture, train_config;
  TrainState state;
  NamedTensors model;
  std::optional<train::Checkpoint> shared;  // absent for the legacy format
};

// With weight averaging, "model" holds the averaged weights (what inference loads) and "raw"
// the optimiser's own, for resuming.
void save_checkpoint(const std::filesystem::path& path, const Restormer& net, const torch::optim::Optimizer* optimizer,
                     const std::string& train_config, const TrainState& state, const Restormer& raw = nullptr) {
  train::Checkpoint checkpoint;
  checkpoint.kind = kKind;
  checkpoint.fingerprint = sha256_hex(train_config);
  checkpoint.meta = {{"architecture", net->options().to_yaml()},
                     {"train_config", train_config},
                     {"epoch", state.epoch},
                     {"global_step", state.global_step},
                     {"history", history_json(state.history)}};
  checkpoint.add_module("model", *net);
  if (raw) checkpoint.add_module("raw", *raw);
  if (optimizer) checkpoint.add_optimizer("adamw", *optimizer);
  checkpoint.add_rng();
  train::write_checkpoint(path, checkpoint);
}

// Loads `source` into the auto-encoder; strict for its own checkpoints.
io::LoadReport load_dae_state(Restormer& net, const NamedTensors& source, bool strict, const std::string& source_name) {
  io::LoadStateOptions options;
  options.target = "this architecture (another model or other widths?)";
  options.hint = "use the checkpoint's own network config, or load non-strictly to take matching keys only";
  return io::load_state(*net, source, strict, "restoration: weights in " + source_name, options);
}

DaeCheckpoint read_legacy_checkpoint(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    throw RunError("dae: checkpoint " + path.string() + " is not a readable FreRec DAE checkpoint (" +
                   std::string(e.what()).substr(0, 200) + ")");
  }
  if (!value.isGenericDict()) throw RunError("dae: checkpoint " + path.string() + " is not a FreRec DAE checkpoint");
  const auto dict = value.toGenericDict();
  if (!dict.contains("format") || dict.at("format").toStringRef() != kLegacyFormat)
    throw RunError("dae: checkpoint " + path.string() + " has an unknown format (expected " + train::kCheckpointFormat +
                   " or " + kLegacyFormat + ")");
  DaeCheckpoint out;
  out.architecture = dict.at("architecture").toStringRef();
  out.train_config = dict.at("train_config").toStringRef();
  out.state.epoch = static_cast<int>(dict.at("epoch").toInt());
  out.state.global_step = dict.at("global_step").toInt();
  out.state.history = history_from(nlohmann::json::parse(dict.at("history").toStringRef()));
  for (const auto& item : dict.at("model").toGenericDict()) out.model[item.key().toStringRef()] = item.value().toTensor();
  return out;
}

DaeCheckpoint read_dae_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw RunError("dae: checkpoint " + path.string() + " does not exist");
  DaeCheckpoint out;
  out.shared = train::read_checkpoint_if_ours(path, kKind, "dae");
  if (!out.shared) return read_legacy_checkpoint(path);
  const nlohmann::json& meta = out.shared->meta;
  try {
    out.architecture = meta.at("architecture").get<std::string>();
    out.train_config = meta.at("train_config").get<std::string>();
    out.state.epoch = meta.at("epoch").get<int>();
    out.state.global_step = meta.at("global_step").get<std::int64_t>();
    out.state.history = history_from(meta.at("history"));
  } catch (const nlohmann::json::exception& e) {
    throw RunError("dae: checkpoint " + path.string() + " has an incomplete meta record (" + e.what() + ")");
  }
  out.model = out.shared->module("model");
  return out;
}

}  // namespace

// ---------------------------------------------------------------- options
config::Schema dae_schema() {
  config::Schema s;
  s.add_map("network", frerec_dae_schema(), "auto-encoder architecture (frerec_dae; fesa: false = plain Restormer)");
  s.add_int("epochs", 20, "training epochs", 1, 100000);
  s.add_int("batch_size", 4, "patches per step", 1, 4096);
  s.add_int("patch_size", 64, "random crop size (multiple of 8, at most the image size)", 8, 4096);
  s.add_int("steps_per_epoch", 0, "optimisation steps per epoch; 0 = ceil(pairs / batch_size)", 0, 10000000);
  s.add_float("lr", 3e-4, "AdamW peak learning rate (cosine decay per step)", 0, 10);
  s.add_float("min_lr", 1e-6, "learning rate at the end of the cosine schedule", 0, 10);
  s.add_float("weight_decay", 1e-4, "AdamW weight decay", 0, 10);
  s.add_float("grad_clip", 0.01, "max gradient L2 norm (0 disables)", 0, 1e9);
  s.add_float("spectral_weight", 1.0, "λ of Eq. 7 (spectral term weight)", 0, 1e6);
  s.add_string("spectral_loss", "amplitude", "spectral term on |F| (amplitude) or F (complex = pixel MSE by Parseval)",
               {"amplitude", "complex"});
  s.add_bool("flips", true, "random horizontal/vertical flips of the training patches");
  s.add_int("seed", 0, "seed of initialisation, sampling, crops, flips and perturbations", 0);
  s.add_optional("init_weights", config::Type::kString, "HDF5 weights (tools/export_restormer_weights.py); matching keys only");
  s.add_optional("checkpoint_dir", config::Type::kString, "folder for last.pt / best.pt; unset = no checkpoints");
  s.add_bool("resume", true, "continue from checkpoint_dir/last.pt when it exists");
  s.add_int("val_batch_size", 4, "images per validation/inference batch", 1, 4096);
  s.add_bool("zero_init_output", false,
             "start the output conv at 0 so the untrained network is the identity (global residual)");
  s.add_int("precise_bn_batches", 0,
            "after each epoch, recompute every BatchNorm's running statistics as the plain mean over this many "
            "training batches of the current weights (0: keep the momentum averages)",
            0, 100000);
  s.add_float("ema_decay", 0.0,
              "exponential moving average of the weights for validation, the saved model and inference "
              "(decay min(ema_decay, (1+t)/(10+t)) at step t); 0: off, use the raw weights",
              0.0, 0.99999);
  s.add_float("train_epsilon_scale", 1.0,
              "factor on SHR's epsilon (Eq. 3) for the training inputs only; validation and inference keep the "
              "shr block's; 1: one SHR for training and inference (the paper)",
              0.0, 100.0);
  return s;
}

void DaeTrainOptions::validate() const {
  auto fail = [](const std::string& key, const std::string& value, const std::string& fix) {
    throw ConfigError("dae: " + key + "=" + value + " " + fix);
  };
  if (epochs < 1) fail("epochs", std::to_string(epochs), "must be >= 1");
  if (batch_size < 1) fail("batch_size", std::to_string(batch_size), "must be >= 1");
  if (patch_size < 8 || patch_size % 8 != 0) fail("patch_size", std::to_string(patch_size), "must be a positive multiple of 8");
  if (steps_per_epoch < 0) fail("steps_per_epoch", std::to_string(steps_per_epoch), "must be >= 0");
  if (!(lr > 0)) fail("lr", std::to_string(lr), "must be > 0");
  if (min_lr < 0 || min_lr > lr) fail("min_lr", std::to_string(min_lr), "must be in [0, lr]");
  if (weight_decay < 0) fail("weight_decay", std::to_string(weight_decay), "must be >= 0");
  if (grad_clip < 0) fail("grad_clip", std::to_string(grad_clip), "must be >= 0");
  if (spectral_weight < 0) fail("spectral_weight", std::to_string(spectral_weight), "must be >= 0");
  parse_spectral_loss(spectral_loss);
  if (val_batch_size < 1) fail("val_batch_size", std::to_string(val_batch_size), "must be >= 1");
  if (precise_bn_batches < 0) fail("precise_bn_batches", std::to_string(precise_bn_batches), "must be >= 0");
  if (!(ema_decay >= 0 && ema_decay < 1)) fail("ema_decay", std::to_string(ema_decay), "must be in [0, 1)");
  if (!(train_epsilon_scale >= 0)) fail("train_epsilon_scale", std::to_string(train_epsilon_scale), "must be >= 0");
  if (!network_yaml.empty()) RestormerOptions::from_yaml(network_yaml).validate("dae.network");
}

std::string DaeTrainOptions::canonical() const {
  nlohmann::json j = {{"network", network_yaml.empty() ? paper_dae_options().to_yaml() : network_yaml},
                      {"epochs", epochs}, {"batch_size", batch_size}, {"patch_size", patch_size},
                      {"steps_per_epoch", steps_per_epoch}, {"lr", lr}, {"min_lr", min_lr},
                      {"weight_decay", weight_decay}, {"grad_clip", grad_clip},
                      {"spectral_weight", spectral_weight}, {"spectral_loss", spectral_loss}, {"flips", flips},
                      {"seed", seed}, {"init_weights", init_weights}};
  // Only when set: keys of earlier runs stay valid.
  if (zero_init_output) j["zero_init_output"] = true;
  if (precise_bn_batches > 0) j["precise_bn_batches"] = precise_bn_batches;
  if (ema_decay > 0) j["ema_decay"] = ema_decay;
  if (train_epsilon_scale != 1.0) j["train_epsilon_scale"] = train_epsilon_scale;
  return j.dump();
}

DaeTrainOptions dae_options_from(const config::Params& p) {
  DaeTrainOptions o;
  o.network_yaml = restormer_options_from(p.sub("network"), paper_dae_options()).to_yaml();
  o.epochs = p.get<int>("epochs");
  o.batch_size = p.get<int>("batch_size");
  o.patch_size = p.get<int>("patch_size");
  o.steps_per_epoch = p.get<int>("steps_per_epoch");
  o.lr = p.get<double>("lr");
  o.min_lr = p.get<double>("min_lr");
  o.weight_decay = p.get<double>("weight_decay");
  o.grad_clip = p.get<double>("grad_clip");
  o.spectral_weight = p.get<double>("spectral_weight");
  o.spectral_loss = p.get<std::string>("spectral_loss");
  o.flips = p.get<bool>("flips");
  o.seed = p.get<std::uint64_t>("seed");
  o.init_weights = p.get_or<std::string>("init_weights", "");
  o.checkpoint_dir = p.get_or<std::string>("checkpoint_dir", "");
  o.resume = p.get<bool>("resume");
  o.val_batch_size = p.get<int>("val_batch_size");
  o.zero_init_output = p.get<bool>("zero_init_output");
  o.precise_bn_batches = p.get<int>("precise_bn_batches");
  o.ema_decay = p.get<double>("ema_decay");
  o.train_epsilon_scale = p.get<double>("train_epsilon_scale");
  o.validate();
  return o;
}

// ---------------------------------------------------------------- metrics
double psnr(const Image& a, const Image& b) {
  if (!a.same_shape(b)) throw RunError("psnr: images differ in shape");
  return psnr_tensor(to_tensor(a), to_tensor(b));
}

double ssim_gaussian(const Image& a, const Image& b) {
  if (!a.same_shape(b)) throw RunError("ssim: images differ in shape");
  return ssim_tensor(to_tensor(a), to_tensor(b));
}

std::vector<Image> DaePairs::read_targets(const std::vector<std::size_t>& rows) const {
  if (!store) {
    std::vector<Image> out;
    out.reserve(rows.size());
    for (std::size_t r : rows) out.push_back(targets.at(r));
    return out;
  }
  std::vector<std::size_t> shifted(rows);
  for (auto& r : shifted) {
    if (r >= store_count) throw InternalError("dae: target row " + std::to_string(r) + " of " + std::to_string(store_count));
    r += store_begin;
  }
  return store->read_rows(shifted);
}

// ---------------------------------------------------------------- training
namespace {

// Refuses pairs the network cannot train on, naming the image.
void check_pairs(const DaePairs& pairs, const std::string& what, const RestormerOptions& arch) {
  if (pairs.size() == 0) throw RunError("dae: no " + what + " images (give at least one real image)");
  if (pairs.store) {
    if (!pairs.perturb) throw InternalError("dae: " + what + " pairs from a store need a perturb function");
    if (pairs.store_begin + pairs.store_count > pairs.store->size())
      throw InternalError("dae: " + what + " rows past the end of the store");
    if (pairs.store->channels() != arch.in_channels)
      throw RunError("dae: " + what + " images have " + std::to_string(pairs.store->channels()) +
                     " channel(s) but network.in_channels=" + std::to_string(arch.in_channels) +
                     " (set network.in_channels to the images' channel count)");
    return;
  }
  if (!pairs.perturb && pairs.inputs.size() != pairs.targets.size())
    throw RunError("dae: " + what + " has " + std::to_string(pairs.inputs.size()) + " inputs for " +
                   std::to_string(pairs.targets.size()) + " targets (give one perturbed input per image or a perturb function)");
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const Image& t = pairs.targets[i];
    if (t.channels != arch.in_channels)
      throw RunError("dae: " + what + " image " + std::to_string(i) + " has " + std::to_string(t.channels) +
                     " channel(s) but network.in_channels=" + std::to_string(arch.in_channels) +
                     " (set network.in_channels to the images' channel count)");
    if (!pairs.inputs.empty() && !pairs.inputs[i].same_shape(t))
      throw RunError("dae: " + what + " pair " + std::to_string(i) + ": input and target differ in shape");
  }
}

// Height and width of training image i (for the patch-size check).
std::pair<int, int> image_size(const DaePairs& pairs, std::size_t i) {
  if (pairs.store) return {pairs.store->height(), pairs.store->width()};
  return {pairs.targets[i].height, pairs.targets[i].width};
}

// One training run: the network, its optimiser, the schedule, the state that is checkpointed,
// and the fixed validation pairs.
struct DaeRun {
  DaeRun(const DaeTrainOptions& o, const DaePairs& t, const DaeProgressFn& p) : options(o), train(t), progress(p) {}
  const DaeTrainOptions& options;
  const DaePairs& train;
  const DaeProgressFn& progress;
  SpectralLoss spectral = SpectralLoss::kAmplitude;
  RestormerOptions arch;
  torch::Device device{torch::kCPU};
  Restormer net{nullptr};
  Restormer ema{nullptr};  // the averaged weights (dae.ema_decay > 0): validated, saved and applied
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::int64_t steps_per_epoch = 0, total_steps = 0;
  std::string train_config;
  std::filesystem::path last, best;
  TrainState state;
  std::vector<Image> val_inputs;
  std::vector<at::Tensor> val_targets;
  double input_psnr = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::int64_t first_step = 0;  // steps run before this process (a resumed run)
};

// target ← keep·target + (1 − keep)·source over parameters and floating-point buffers
// (BatchNorm statistics); integer buffers are copied. keep = 0 copies.
void average_into(torch::nn::Module& target, const torch::nn::Module& source, double keep) {
  torch::NoGradGuard no_grad;
  auto average = [keep](const torch::OrderedDict<std::string, at::Tensor>& from,
                        torch::OrderedDict<std::string, at::Tensor> to) {
    for (const auto& item : from) {
      at::Tensor& averaged = to[item.key()];
      if (averaged.is_floating_point() && keep > 0)
        averaged.mul_(keep).add_(item.value().detach(), 1.0 - keep);
      else
        averaged.copy_(item.value());
    }
  };
  average(source.named_parameters(), target.named_parameters());
  average(source.named_buffers(), target.named_buffers());
}

// Validates the options and pairs, builds and initialises the network and its optimiser.
void set_up(DaeRun& run, const DaePairs& validation, const RunContext& context) {
  const DaeTrainOptions& options = run.options;
  options.validate();
  run.spectral = parse_spectral_loss(options.spectral_loss);
  run.arch = options.network_yaml.empty() ? paper_dae_options() : RestormerOptions::from_yaml(options.network_yaml);
  torch::set_num_threads(std::max(1, context.threads));
  run.device = torch::Device(context.device);
  check_pairs(run.train, "training", run.arch);
  check_pairs(validation, "validation", run.arch);
  for (std::size_t i = 0; i < (run.train.store ? 1 : run.train.size()); ++i) {
    const auto [h, w] = image_size(run.train, i);
    if (h < options.patch_size || w < options.patch_size)
      throw ConfigError("dae: patch_size=" + std::to_string(options.patch_size) + " exceeds training image " +
                        std::to_string(i) + " (" + std::to_string(h) + "x" + std::to_string(w) + "); lower patch_size");
  }

  run.net = Restormer(run.arch);
  initialize_parameters(*run.net, options.seed);
  if (!options.init_weights.empty()) {
    const auto report = io::load_state(*run.net, read_weights(options.init_weights), /*strict=*/false, options.init_weights);
    spdlog::info("dae: initialised from {}: {}", options.init_weights, report.summary());
  }
  if (options.zero_init_output) {
    torch::NoGradGuard no_grad;
    for (auto& item : run.net->named_parameters())
      if (item.key().rfind("output.", 0) == 0) item.value().zero_();
  }
  run.net->to(run.device);
  run.net->train();
  if (options.ema_decay > 0) {
    run.ema = Restormer(run.arch);
    run.ema->to(run.device);
    average_into(*run.ema, *run.net, 0.0);  // starts as a copy
    for (auto& parameter : run.ema->parameters()) parameter.set_requires_grad(false);
    run.ema->eval();
  }
  run.optimizer = std::make_unique<torch::optim::AdamW>(
      run.net->parameters(), torch::optim::AdamWOptions(options.lr).betas({0.9, 0.999}).weight_decay(options.weight_decay));
  run.steps_per_epoch = options.steps_per_epoch > 0
                            ? options.steps_per_epoch
                            : (static_cast<std::int64_t>(run.train.size()) + options.batch_size - 1) / options.batch_size;
  run.total_steps = run.steps_per_epoch * options.epochs;
  run.train_config = options.canonical();
}

// Continues from checkpoint_dir/last.pt when it exists (and resume is on).
bool resume(DaeRun& run) {
  if (run.options.checkpoint_dir.empty()) return false;
  run.last = run.options.checkpoint_dir / "last.pt";
  run.best = run.options.checkpoint_dir / "best.pt";
  if (!run.options.resume || !std::filesystem::exists(run.last)) return false;
  const DaeCheckpoint stored = read_dae_checkpoint(run.last);
  if (!stored.shared)
    throw RunError("dae: " + run.last.string() +
                   " is in the earlier DAE-only checkpoint format, which can be applied but not resumed; use another "
                   "checkpoint_dir or resume: false");
  if (stored.shared->fingerprint != sha256_hex(run.train_config))
    throw RunError("dae: " + run.last.string() +
                   " was written with another training config; use another checkpoint_dir or resume: false");
  if (run.ema) {
    load_dae_state(run.ema, stored.model, true, run.last.string());
    load_dae_state(run.net, stored.shared->module("raw"), true, run.last.string());
  } else {
    load_dae_state(run.net, stored.model, true, run.last.string());
  }
  stored.shared->load_optimizer("adamw", *run.optimizer, run.device);
  run.state = stored.state;
  spdlog::info("dae: resumed from {} at epoch {}", run.last.string(), run.state.epoch);
  return true;
}

// Validation inputs are fixed for the whole run (perturbed with seed hash(seed, "va", index)).
void prepare_validation(DaeRun& run, const DaePairs& validation) {
  std::vector<std::size_t> rows(validation.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  const std::vector<Image> targets = validation.read_targets(rows);  // the held-out set is small
  run.val_inputs.resize(validation.size());
  for (std::size_t i = 0; i < validation.size(); ++i)
    run.val_inputs[i] = validation.perturb
                            ? validation.perturb(i, targets[i], mix(mix(run.options.seed, 0x7661ULL), i))
                            : validation.inputs[i];
  for (std::size_t i = 0; i < validation.size(); ++i) {
    run.val_targets.push_back(to_tensor(targets[i]));
    run.input_psnr +=
        psnr_tensor(to_tensor(run.val_inputs[i]), run.val_targets.back()) / static_cast<double>(validation.size());
  }
}

// ETA from the steps run in this process (a resumed run does not count the earlier ones).
DaeProgress progress_info(const DaeRun& run, int epoch, double loss, double lr) {
  DaeProgress info;
  info.epoch = epoch + 1;
  info.epochs = run.options.epochs;
  info.step = run.state.global_step;
  info.total_steps = run.total_steps;
  info.loss = loss;
  info.lr = lr;
  info.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.start).count();
  const double done = static_cast<double>(std::max<std::int64_t>(1, run.state.global_step - run.first_step));
  info.eta_seconds = info.elapsed_seconds / done * static_cast<double>(run.total_steps - run.state.global_step);
  return info;
}

// A sample order of at least `count` pairs: reshuffled permutations of the pairs.
std::vector<std::size_t> sample_order(const DaeRun& run, std::size_t count, std::mt19937_64& rng) {
  std::vector<std::size_t> order;
  while (order.size() < count) {
    std::vector<std::size_t> perm(run.train.size());
    std::iota(perm.begin(), perm.end(), 0);
    random::shuffle(perm.begin(), perm.end(), rng);
    order.insert(order.end(), perm.begin(), perm.end());
  }
  return order;
}

// The sample order of an epoch: every step has a batch.
std::vector<std::size_t> epoch_order(const DaeRun& run, std::mt19937_64& rng) {
  return sample_order(run, static_cast<std::size_t>(run.steps_per_epoch * run.options.batch_size), rng);
}

// Random patches (same crop and flips for input and target) of the pairs order[first..].
std::pair<at::Tensor, at::Tensor> patch_batch(const DaeRun& run, int epoch, const std::vector<std::size_t>& order,
                                              std::size_t first, std::mt19937_64& rng) {
  const DaeTrainOptions& options = run.options;
  const int64_t p = options.patch_size;
  auto inputs = at::empty({options.batch_size, run.arch.in_channels, p, p}, at::kFloat);
  auto targets = at::empty_like(inputs);
  const std::vector<std::size_t> rows(order.begin() + static_cast<long>(first),
                                      order.begin() + static_cast<long>(first) + options.batch_size);
  const std::vector<Image> batch = run.train.read_targets(rows);
  for (int b = 0; b < options.batch_size; ++b) {
    const std::size_t index = rows[static_cast<std::size_t>(b)];
    const Image& target = batch[static_cast<std::size_t>(b)];
    const Image input = run.train.perturb ? run.train.perturb(index, target, mix(mix(options.seed, epoch + 1), index))
                                          : run.train.inputs[index];
    if (!input.same_shape(target))
      throw RunError("dae: perturbed input of training image " + std::to_string(index) + " changed its shape");
    const int64_t y0 = static_cast<int64_t>(rng() % static_cast<std::uint64_t>(target.height - p + 1));
    const int64_t x0 = static_cast<int64_t>(rng() % static_cast<std::uint64_t>(target.width - p + 1));
    const bool flip_h = options.flips && (rng() & 1ULL), flip_v = options.flips && (rng() & 1ULL);
    auto crop = [&](const Image& image) {
      auto t = to_tensor(image).narrow(1, y0, p).narrow(2, x0, p);
      if (flip_h) t = t.flip({2});
      if (flip_v) t = t.flip({1});
      return t;
    };
    inputs[b].copy_(crop(input));
    targets[b].copy_(crop(target));
  }
  return {inputs, targets};
}

// One optimisation step at the cosine learning rate of the current global step; returns the
// loss terms and sets `lr`.
LossTerms train_step(DaeRun& run, const at::Tensor& inputs, const at::Tensor& targets, double& lr) {
  const DaeTrainOptions& options = run.options;
  const double progress_fraction = static_cast<double>(run.state.global_step) / static_cast<double>(run.total_steps);
  lr = options.min_lr + 0.5 * (options.lr - options.min_lr) * (1 + std::cos(std::acos(-1.0) * progress_fraction));
  for (auto& group : run.optimizer->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  run.optimizer->zero_grad();
  auto prediction = run.net->forward(inputs.to(run.device));
  auto terms = reconstruction_loss(prediction, targets.to(run.device), options.spectral_weight, run.spectral);
  return terms;
}

// ema ← d·ema + (1 − d)·net after global step t, d = min(ema_decay, (1 + t) / (10 + t)).
void update_ema(DaeRun& run) {
  if (!run.ema) return;
  const double t = static_cast<double>(run.state.global_step);
  average_into(*run.ema, *run.net, std::min(run.options.ema_decay, (1.0 + t) / (10.0 + t)));
}

// The training half of an epoch; fills the train_* fields and lr of `stats`.
void train_epoch(DaeRun& run, int epoch, DaeEpochStats& stats) {
  const DaeTrainOptions& options = run.options;
  std::mt19937_64 rng(mix(options.seed, static_cast<std::uint64_t>(epoch) + 1));
  const std::vector<std::size_t> order = epoch_order(run, rng);
  double sum_loss = 0, sum_pixel = 0, sum_spectral = 0, lr = options.lr;
  for (std::int64_t step = 0; step < run.steps_per_epoch; ++step) {
    const auto [inputs, targets] = patch_batch(run, epoch, order, static_cast<std::size_t>(step * options.batch_size), rng);
    const LossTerms terms = train_step(run, inputs, targets, lr);
    const double loss_value = terms.total.item<double>();
    if (!std::isfinite(loss_value))
      throw RunError("dae: training loss became " + std::to_string(loss_value) + " at epoch " +
                     std::to_string(epoch + 1) + " step " + std::to_string(step + 1) + "; lower lr");
    terms.total.backward();
    if (options.grad_clip > 0) torch::nn::utils::clip_grad_norm_(run.net->parameters(), options.grad_clip);
    run.optimizer->step();
    update_ema(run);
    ++run.state.global_step;
    sum_loss += loss_value;
    sum_pixel += terms.pixel.item<double>();
    sum_spectral += terms.spectral.item<double>();
    if (run.progress) run.progress(progress_info(run, epoch, loss_value, lr));
  }
  stats.epoch = epoch + 1;
  stats.train_loss = sum_loss / static_cast<double>(run.steps_per_epoch);
  stats.train_pixel = sum_pixel / static_cast<double>(run.steps_per_epoch);
  stats.train_spectral = sum_spectral / static_cast<double>(run.steps_per_epoch);
  stats.lr = lr;
}

// Precise BatchNorm statistics (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm"): the
// running mean and variance of every BatchNorm (the FET fusions) become the plain average over
// `precise_bn_batches` training batches of the current weights, instead of the momentum-0.1
// average over weights that moved during the epoch. Forward passes only; the batches come from
// a generator seeded by (seed, epoch), so a resumed run stays exact.
void recompute_batchnorm(DaeRun& run, int epoch) {
  const int batches = run.options.precise_bn_batches;
  if (batches <= 0) return;
  std::vector<torch::nn::BatchNorm2dImpl*> norms;
  Restormer& net = run.ema ? run.ema : run.net;  // the network that is validated and saved
  for (const auto& module : net->modules(/*include_self=*/false))
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(module.get())) norms.push_back(bn);
  if (norms.empty()) return;
  std::vector<c10::optional<double>> momenta;
  for (auto* bn : norms) {
    momenta.push_back(bn->options.momentum());
    bn->options.momentum(c10::nullopt);  // cumulative average over the batches below
    bn->reset_running_stats();
  }
  torch::NoGradGuard no_grad;
  std::mt19937_64 rng(mix(mix(run.options.seed, 0x626eULL), static_cast<std::uint64_t>(epoch) + 1));
  const std::vector<std::size_t> order =
      sample_order(run, static_cast<std::size_t>(batches) * static_cast<std::size_t>(run.options.batch_size), rng);
  net->train();
  for (int b = 0; b < batches; ++b) {
    const auto batch = patch_batch(run, epoch, order, static_cast<std::size_t>(b) * run.options.batch_size, rng);
    net->forward(batch.first.to(run.device));
  }
  for (std::size_t i = 0; i < norms.size(); ++i) norms[i]->options.momentum(momenta[i]);
  if (run.ema) run.ema->eval();
}

// Loss, PSNR and SSIM of the whole validation images (padded like inference).
void validate(DaeRun& run, DaeEpochStats& stats) {
  stats.input_psnr = run.input_psnr;
  const auto outputs = restore_tensors(run.ema ? run.ema : run.net, run.val_inputs, run.options.val_batch_size, run.device);
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const double n = static_cast<double>(outputs.size());
    auto terms = reconstruction_loss(outputs[i].unsqueeze(0), run.val_targets[i].unsqueeze(0),
                                     run.options.spectral_weight, run.spectral);
    stats.val_loss += terms.total.item<double>() / n;
    stats.val_psnr += psnr_tensor(outputs[i], run.val_targets[i]) / n;
    stats.val_ssim += ssim_tensor(outputs[i], run.val_targets[i]) / n;
  }
}

}  // namespace

DaeTrainResult train_dae(const DaeTrainOptions& options, const DaePairs& train, const DaePairs& validation,
                         const RunContext& context, const DaeProgressFn& progress) {
  torch::AutoGradMode enable_grad(true);  // the caller may be inside a NoGradGuard
  DaeRun run(options, train, progress);
  set_up(run, validation, context);
  DaeTrainResult result;
  result.resumed = resume(run);
  result.last_checkpoint = run.last;
  result.best_checkpoint = run.best;
  result.start_epoch = run.state.epoch;
  prepare_validation(run, validation);

  double best_psnr = -1e300;
  for (const auto& s : run.state.history) best_psnr = std::max(best_psnr, s.val_psnr);
  run.start = std::chrono::steady_clock::now();
  run.first_step = run.state.global_step;
  for (int epoch = run.state.epoch; epoch < options.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    DaeEpochStats stats;
    train_epoch(run, epoch, stats);
    recompute_batchnorm(run, epoch);
    validate(run, stats);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    run.state.epoch = epoch + 1;
    run.state.history.push_back(stats);
    if (!run.last.empty()) {
      const Restormer& validated = run.ema ? run.ema : run.net;
      save_checkpoint(run.last, validated, run.optimizer.get(), run.train_config, run.state,
                      run.ema ? run.net : Restormer(nullptr));
      if (stats.val_psnr > best_psnr) save_checkpoint(run.best, validated, nullptr, run.train_config, run.state);
    }
    best_psnr = std::max(best_psnr, stats.val_psnr);
    if (progress) {
      DaeProgress info = progress_info(run, epoch, stats.train_loss, stats.lr);
      info.epoch_end = &run.state.history.back();
      progress(info);
    }
  }
  result.history = run.state.history;
  return result;
}

// ---------------------------------------------------------------- inference
struct DaeModel::State {
  Restormer net{nullptr};
  torch::Device device{torch::kCPU};
};

DaeModel::DaeModel(std::unique_ptr<State> state) : state_(std::move(state)) {}
DaeModel::DaeModel(DaeModel&&) noexcept = default;
DaeModel& DaeModel::operator=(DaeModel&&) noexcept = default;
DaeModel::~DaeModel() = default;

DaeModel DaeModel::load(const std::filesystem::path& checkpoint, const std::string& device) {
  return load_into(read_dae_checkpoint(checkpoint).architecture, checkpoint, device);
}

DaeModel DaeModel::load_into(const std::string& network_yaml, const std::filesystem::path& checkpoint,
                             const std::string& device) {
  const DaeCheckpoint stored = read_dae_checkpoint(checkpoint);
  auto state = std::make_unique<State>();
  state->device = torch::Device(device);
  state->net = Restormer(RestormerOptions::from_yaml(network_yaml));
  load_dae_state(state->net, stored.model, true, checkpoint.string());
  state->net->to(state->device);
  state->net->eval();
  return DaeModel(std::move(state));
}

std::vector<Image> DaeModel::restore(const std::vector<Image>& images, int batch_size) const {
  std::vector<Image> out;
  out.reserve(images.size());
  for (const auto& t : restore_tensors(state_->net, images, batch_size, state_->device)) out.push_back(to_image(t));
  return out;
}

int DaeModel::channels() const { return state_->net->options().in_channels; }
std::string DaeModel::architecture() const { return state_->net->options().to_yaml(); }
std::int64_t DaeModel::parameters() const { return count_parameters(state_->net); }

std::vector<DaeEpochStats> dae_history(const std::filesystem::path& checkpoint) {
  return read_dae_checkpoint(checkpoint).state.history;
}

std::string checkpoint_fingerprint(const std::filesystem::path& checkpoint) {
  return sha256_file(checkpoint.string());
}

}  // namespace frerec::rhm
