// The Table 2 cell (experiment kind "classify"): one dataset × method × backbone × seed.
//
//   1. load_task(data): the Table 1 sample of the real splits and the synthetic pool,
//      through the HDF5 image cache (shared by every cell of the dataset);
//   2. method.prepare(): the training / validation / test sources (real only, real +
//      synthetic, or calibrated images for GDA+FreRec);
//   3. the classifier from the model section, with in_channels / image_size / num_classes
//      taken from the data (LibTorch's global generator seeded from the cell seed first);
//   4. Trainer.fit() with the shared base augmentation and the method's hooks, resuming
//      from checkpoints/last.pt when a previous run of this cell was killed;
//   5. predictions on the real test set → AUC, Acc, F1 (threshold 0.5 on P(positive)),
//      predictions.csv, and optional bootstrap confidence intervals.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cstring>

#include "augmentations/method.h"
#include "datasets/dataset.h"
#include "experiments/classifier_training.h"
#include "experiments/reports.h"
#include "framework/config/experiment_schema.h"
#include "framework/core/error.h"
#include "framework/core/progress.h"
#include "framework/metrics/metrics.h"
#include "framework/metrics/predictions.h"
#include "framework/runner/experiment.h"
#include "framework/train/trainer.h"
#include "models/classifiers/classifier.h"
#include "models/classifiers/registry.h"

namespace frerec::experiments {
namespace {

class ClassifyExperiment : public CellExperiment {
 public:
  nlohmann::json run(CellContext& context) override {
    const config::Params& cfg = context.config;
    const std::uint64_t seed = static_cast<std::uint64_t>(cfg.get<long>("seed"));

    // 1. Data.
    const config::Params data_section = cfg.sub("data");
    datasets::TaskData task = datasets::load_task(data_section, context.run);
    if (task.real_train.empty() || task.real_test.empty())
      throw RunError(fmt::format("classify: dataset '{}' gave {} training and {} test images; both must be non-empty",
                                 task.dataset, task.real_train.size(), task.real_test.size()));
    context.record_extra["data"] = {{"train", task.real_train.size()}, {"val", task.real_val.size()},
                                    {"test", task.real_test.size()}, {"synthetic_pool", task.synthetic.size()},
                                    {"skipped_images", task.stats.skipped}, {"decoded", task.stats.decoded},
                                    {"cache_hits", task.stats.cache_hits}};

    // 2. Method.
    const config::Params method_section = cfg.sub("method");
    const std::string method_name = method_section.get<std::string>("name");
    auto method = augmentations::method_registry().create(method_name, method_section.sub(method_name));
    augmentations::CellData cell{task, method_section, method_section.sub(method_name), data_section, seed, context.run,
                                 context.dir / "log.txt"};
    augmentations::TrainingInputs inputs = method->prepare(cell);
    context.record_extra["method"] = inputs.record;

    // 3–4. Model and training.
    TrainedClassifier trained = train_classifier(
        cfg, task.real_train.channels(), task.real_train.height(), *inputs.train, inputs.validation.get(), context.dir,
        context.run, seed, [&](train::Trainer& trainer, train::ModelHandle& model) { method->configure(trainer, model, cell); },
        "train");
    train::ModelHandle& model = trained.model;
    const auto& classifier = *trained.classifier;
    context.record_extra["model"] = {
        {"input_normalization", classifier.input_mean().empty() ? "none" : "imagenet"},
        {"input_mean", classifier.input_mean()},
        {"input_std", classifier.input_std()}};
    const train::TrainResult& result = trained.result;

    // 5. Evaluation on the real test set.
    const metrics::PredictionTable predictions =
        train::predict(model, *inputs.test, train::predict_options_from(trained.options));
    metrics::write_predictions_csv(context.dir / "predictions.csv", predictions);
    const config::Params eval = cfg.sub("eval");
    const double threshold = eval.get<double>("threshold");
    const metrics::BinaryMetrics m = metrics::evaluate_binary(predictions.labels, predictions.scores, threshold);
    nlohmann::json out = {{"auc", m.auc},
                          {"accuracy", m.accuracy},
                          {"f1", m.f1},
                          {"precision", m.precision},
                          {"recall", m.recall},
                          {"threshold", threshold},
                          {"confusion", {{"tn", m.confusion.tn}, {"fp", m.confusion.fp}, {"fn", m.confusion.fn}, {"tp", m.confusion.tp}}},
                          {"test_images", predictions.scores.size()},
                          {"epochs", result.epochs_completed},
                          {"steps", result.global_step},
                          {"resumed", result.resumed}};
    // Image quality of calibrated synthetic images (FreRec variants; Table 3's PSNR, SSIM).
    if (inputs.record.contains("quality"))
      for (const auto& [key, value] : inputs.record["quality"].items()) out[key] = value;
    if (result.best_val_metric) out["best_val_metric"] = *result.best_val_metric, out["best_epoch"] = result.best_epoch;
    double wait = 0;
    for (const auto& e : result.history) wait += e.data_wait_fraction_steady;
    if (!result.history.empty()) out["data_wait_fraction"] = wait / static_cast<double>(result.history.size());
    if (eval.get<int>("bootstrap") > 0) {
      metrics::BootstrapOptions b;
      b.resamples = eval.get<int>("bootstrap");
      b.confidence = eval.get<double>("confidence");
      b.seed = seed;
      const auto ci = metrics::bootstrap_ci(predictions.labels, predictions.scores, b, threshold);
      out["ci"] = {{"auc", {ci.auc.low, ci.auc.high}}, {"accuracy", {ci.accuracy.low, ci.accuracy.high}},
                   {"f1", {ci.f1.low, ci.f1.high}}, {"confidence", b.confidence}};
    }
    spdlog::info("test: AUC {:.4f}, Acc {:.4f}, F1 {:.4f} ({} images)", m.auc, m.accuracy, m.f1, predictions.scores.size());
    return out;
  }
};

}  // namespace

TrainedClassifier train_classifier(const config::Params& cfg, int channels, int image_size,
                                   const train::SampleSource& train_source, const train::SampleSource* validation,
                                   const std::filesystem::path& dir, RunContext& run, std::uint64_t seed,
                                   const std::function<void(train::Trainer&, train::ModelHandle&)>& configure,
                                   const std::string& what) {
  const config::Params model_section = cfg.sub("model");
  const std::string model_name = model_section.get<std::string>("name");
  if (!models::classifier_registry().contains(model_name))
    throw ConfigError(fmt::format("model.name '{}' is not a classifier (classifiers: {})", model_name,
                                  fmt::join(Catalog::instance().names("models"), ", ")));
  YAML::Node model_params = YAML::Clone(model_section.sub(model_name).node());
  model_params["in_channels"] = channels;
  model_params["image_size"] = image_size;
  model_params["num_classes"] = 2;
  train::seed_global_torch(seed);
  TrainedClassifier out;
  out.classifier = models::create_classifier(model_name, config::Params(model_params, "model." + model_name));
  out.model = train::make_model_handle(out.classifier);

  train::TrainerOptions options = train::from_params(cfg.sub("train"));
  options.seed = seed;
  options.device = run.device;
  // train.threads fixes the intra-op count (results then independent of --threads); 0 follows --threads.
  if (options.threads == 0) {
    options.threads = run.threads;
  } else if (options.threads > run.threads) {
    spdlog::info("{}: train.threads={} exceeds --threads {}; training uses {} LibTorch threads as configured", what,
                 options.threads, run.threads, options.threads);
  }
  train::Trainer trainer(options);
  augmentations::add_base_transforms(trainer, cfg.sub("method"));
  if (configure) configure(trainer, out.model);
  std::unique_ptr<Progress> bar;
  trainer.set_progress_callback([&](const train::ProgressInfo& p) {
    if (!bar) bar = std::make_unique<Progress>(what, static_cast<std::size_t>(p.total_steps), run.interactive);
    bar->set(static_cast<std::size_t>(p.global_step),
             fmt::format("epoch {}/{} loss {:.4f} wait {:.0f}%", p.epoch, p.epochs, p.loss, 100 * p.data_wait_fraction));
  });
  trainer.set_epoch_callback([&](const train::EpochRecord& e) {
    if (!run.interactive)
      spdlog::info("{} epoch {}: loss {:.4f}, lr {:.2e}{}, {:.1f}s, data wait {:.0f}%", what, e.epoch, e.train_loss,
                   e.lr, e.val_metric ? fmt::format(", val {:.4f}", *e.val_metric) : "", e.seconds,
                   100 * e.data_wait_fraction_steady);
  });
  out.result = trainer.fit(out.model, train_source, validation, dir);
  if (bar) bar->finish();
  out.options = trainer.options();
  return out;
}

analysis::Matrix extract_features(models::Classifier& classifier, const std::vector<Image>& images,
                                  const std::string& device, int batch_size) {
  analysis::Matrix features;
  if (images.empty()) return features;
  torch::NoGradGuard no_grad;
  const bool was_training = classifier.is_training();
  classifier.eval();
  const torch::Device target(device);
  const auto& first = images.front();
  for (std::size_t begin = 0; begin < images.size(); begin += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(images.size(), begin + static_cast<std::size_t>(batch_size));
    torch::Tensor batch = torch::empty({static_cast<long>(end - begin), first.channels, first.height, first.width});
    for (std::size_t i = begin; i < end; ++i) {
      if (images[i].channels != first.channels || images[i].height != first.height || images[i].width != first.width)
        throw RunError(fmt::format("features: image {} is {}x{}x{}, the first is {}x{}x{}", i, images[i].channels,
                                   images[i].height, images[i].width, first.channels, first.height, first.width));
      std::memcpy(batch[static_cast<long>(i - begin)].data_ptr<float>(), images[i].data.data(), images[i].data.size() * sizeof(float));
    }
    const torch::Tensor f = classifier.features(batch.to(target)).to(torch::kCPU).to(torch::kDouble).contiguous();
    if (features.rows == 0) features = analysis::Matrix(images.size(), static_cast<std::size_t>(f.size(1)));
    std::memcpy(features.data.data() + begin * features.cols, f.data_ptr<double>(), f.numel() * sizeof(double));
  }
  if (was_training) classifier.train();
  return features;
}

void register_experiment_kinds() {
  config::Schema eval;
  eval.add_float("threshold", 0.5, "decision threshold on P(positive) for Acc and F1", 0.0, 1.0);
  eval.add_int("bootstrap", 0, "bootstrap resamples for confidence intervals (0 = off)", 0);
  eval.add_float("confidence", 0.95, "confidence level of the bootstrap intervals", 0.5, 0.999);
  config::register_section({"eval", "evaluation on the real test set", eval, "", "", {}});
  experiment_registry().add(
      "classify", "Table 2 cell: train a classifier on a dataset with an augmentation method, test on real images",
      config::Schema(), [](const config::Params&) -> std::unique_ptr<CellExperiment> {
        return std::make_unique<ClassifyExperiment>();
      });
  report_builders()["classify"] = write_table2;
}

}  // namespace frerec::experiments
