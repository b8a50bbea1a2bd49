// Registration of the Table 2 baselines beyond RAW: autoaugment, mixup, afa, gda,
// gda_external (each with its Schema; defaults documented there). RAW is in method.cpp.
#include <spdlog/spdlog.h>

#include "augmentations/core/afa.h"
#include "augmentations/core/autoaugment.h"
#include "augmentations/core/gda.h"
#include "augmentations/core/gda_lowpass.h"
#include "augmentations/core/mixup.h"
#include "augmentations/method.h"
#include "framework/train/trainer.h"

namespace frerec::augmentations {
namespace {

class AutoAugmentMethod : public Method {
 public:
  explicit AutoAugmentMethod(const std::string& policy) : transform_(std::make_shared<AutoAugmentTransform>(policy)) {}
  void configure(train::Trainer& trainer, train::ModelHandle&, const CellData&) override {
    trainer.add_sample_transform(transform_);  // after the shared flip/crop, as torchvision pipelines do
  }

 private:
  std::shared_ptr<const AutoAugmentTransform> transform_;
};

class MixupMethod : public Method {
 public:
  explicit MixupMethod(double alpha) : transform_(std::make_shared<MixupTransform>(alpha)) {}
  void configure(train::Trainer& trainer, train::ModelHandle&, const CellData&) override {
    trainer.add_batch_transform(transform_);
  }

 private:
  std::shared_ptr<const MixupTransform> transform_;
};

class AfaMethod : public Method {
 public:
  explicit AfaMethod(AfaOptions options) : transform_(std::make_shared<AfaBatchTransform>(options)) {}
  void configure(train::Trainer& trainer, train::ModelHandle& model, const CellData&) override {
    const int layers = attach_auxiliary_batchnorm(*model.module);
    if (layers == 0)
      spdlog::info("afa: the model has no BatchNorm2d (e.g. ViT): its LayerNorms are shared by both branches");
    else
      spdlog::info("afa: {} BatchNorm2d layers get auxiliary statistics for the AFA branch", layers);
    trainer.add_batch_transform(transform_);
    trainer.set_step_hook(std::make_shared<AfaStepHook>());
  }

 private:
  std::shared_ptr<const AfaBatchTransform> transform_;
};

config::Schema autoaugment_schema() {
  config::Schema schema;
  schema.add_string("policy", "imagenet", "learned policy as torchvision's AutoAugmentPolicy (imagenet in the paper)",
                    autoaugment_policy_names());
  return schema;
}

config::Schema mixup_schema() {
  config::Schema schema;
  schema.add_float("alpha", 0.2, "λ ~ Beta(alpha, alpha) per batch; must be > 0 (0.2: ImageNet practice)");
  return schema;
}

config::Schema afa_schema() {
  config::Schema schema;
  schema.add_float("mean_strength", 10.0, "mean of the exponential noise strength (> 0; 10 in the ImageNet example)");
  schema.add_float("min_strength", 0.0, "added to the exponential strength (≥ 0)", 0.0);
  schema.add_int("granularity", 448, "number of wave directions in [0, π]", 1, 100000);
  return schema;
}

}  // namespace

void register_methods() {
  auto& registry = method_registry();
  registry.add("autoaugment", "AutoAugment (torchvision ImageNet policy, uint8 ops, nearest, fill 0) after the base augmentation",
               autoaugment_schema(), [](const config::Params& p) -> std::unique_ptr<Method> {
                 return std::make_unique<AutoAugmentMethod>(p.get<std::string>("policy"));
               });
  registry.add("mixup", "Mix-up: one λ ~ Beta(α, α) per batch, images and soft targets mixed with a permuted batch",
               mixup_schema(), [](const config::Params& p) -> std::unique_ptr<Method> {
                 return std::make_unique<MixupMethod>(p.get<double>("alpha"));
               });
  registry.add("afa", "AFA: Fourier-basis noise view through auxiliary BatchNorm, mean of clean and AFA losses",
               afa_schema(), [](const config::Params& p) -> std::unique_ptr<Method> {
                 AfaOptions options;
                 options.mean_strength = p.get<double>("mean_strength");
                 options.min_strength = p.get<double>("min_strength");
                 options.granularity = p.get<int>("granularity");
                 return std::make_unique<AfaMethod>(options);
               });
  registry.add("gda", "GDA: real + raw synthetic images (data.synthetic) in training; val/test real only",
               gda_schema(), [](const config::Params& p) -> std::unique_ptr<Method> {
                 return std::make_unique<GdaMethod>(p.get<long>("synthetic_per_class"), false);
               });
  registry.add("gda_external",
               "GDA with an external generator's folder (e.g. DoGE samples) loaded with the task's preprocessing",
               gda_external_schema(), [](const config::Params& p) -> std::unique_ptr<Method> {
                 return std::make_unique<GdaMethod>(p.get<long>("synthetic_per_class"), true);
               });
  registry.add("gda_lowpass", "GDA with Gaussian-blurred synthetic images (naive high-frequency removal; docs example)",
               gda_lowpass_schema(), make_gda_lowpass);
  // Table 2 rows in the paper's order (RAW, AutoAugment, Mix-up, AFA, then the GDA family);
  // raw is 0 (method.cpp) and FreRec's GDA+FreRec comes last (augmentations/frerec/pipeline.cpp).
  int order = 1;
  for (const char* method : {"autoaugment", "mixup", "afa", "gda_external", "gda", "gda_lowpass"})
    set_report_placement(method, {order++, -1, ""});
}

}  // namespace frerec::augmentations
