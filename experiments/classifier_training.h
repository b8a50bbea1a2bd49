// Training a classifier from a cell's `model`, `train` and `method` sections — shared by the
// Table 2 cell (classify.cpp) and the feature extractor of the figures cell (figures.cpp).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framework/analysis/analysis.h"
#include "framework/config/schema.h"
#include "framework/core/context.h"
#include "framework/core/image.h"
#include "framework/train/trainer.h"
#include "models/classifiers/classifier.h"

namespace frerec::experiments {

struct TrainedClassifier {
  std::shared_ptr<models::Classifier> classifier;
  train::ModelHandle model;
  train::TrainResult result;
  train::TrainerOptions options;
};

// Builds cfg.model (in_channels / image_size from the data, 2 classes, LibTorch's global
// generator seeded by `seed` first), trains it with cfg.train and the shared base
// augmentation of cfg.method, calls `configure` for method hooks, and resumes from
// dir/checkpoints/last.pt when a previous run was killed. `what` names the progress bar.
TrainedClassifier train_classifier(const config::Params& cfg, int channels, int image_size,
                                   const train::SampleSource& train_source, const train::SampleSource* validation,
                                   const std::filesystem::path& dir, RunContext& run, std::uint64_t seed,
                                   const std::function<void(train::Trainer&, train::ModelHandle&)>& configure,
                                   const std::string& what);

// Penultimate features (Classifier::features, eval mode, no grad) of `images`, one row each.
analysis::Matrix extract_features(models::Classifier& classifier, const std::vector<Image>& images,
                                  const std::string& device, int batch_size = 64);

}  // namespace frerec::experiments
