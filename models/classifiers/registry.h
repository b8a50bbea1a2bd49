// Registration of the classifiers under kind "models" (shared/STYLE.md §2). Torch-free:
// the program and the trainer include this to create backbones by config name.
//
// Registered names (all torchvision-exact in module tree and state-dict names):
//   resnet18, resnet50, densenet121, vit_b_16      torchvision architectures
//   densenet_small, vit_tiny                       small CPU variants (densenet.h, vit.h)
// Schema keys (every model): in_channels (int, 3), num_classes (int, 2), image_size (int,
// 224; 64 for vit_tiny), pretrained (optional path to a safetensors weight file, see
// weights.h), seed (int, 0: initialisation seed); DenseNets add dropout (drop_rate, 0);
// ViTs add patch_size (16; 8 for vit_tiny), dropout (0) and attention_dropout (0).
// `details` prints "parameters: N" for the given settings.
#pragma once

#include <memory>
#include <string>

#include "framework/config/schema.h"
#include "framework/core/registry.h"

namespace frerec::models {

class Classifier;

using ClassifierRegistry = Registry<std::shared_ptr<Classifier>>;

ClassifierRegistry& classifier_registry();

// Registers every classifier (idempotent). The program's register_all() calls it.
void register_classifiers();

// Builds a registered classifier from validated params (Schema::validate already applied);
// loads `pretrained` weights when given. Unknown names throw ConfigError with a suggestion.
std::shared_ptr<Classifier> create_classifier(const std::string& name, const config::Params& params);

// Convenience for code and tests without a config file: validates `overrides` (a YAML
// mapping, may be null) against the model's schema, then creates it.
std::shared_ptr<Classifier> create_classifier(const std::string& name, const YAML::Node& overrides);

}  // namespace frerec::models
