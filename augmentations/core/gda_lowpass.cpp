#include "augmentations/core/gda_lowpass.h"

#include "augmentations/core/gda.h"
#include "framework/core/error.h"

namespace frerec::augmentations {

train::Sample BlurredSource::get(std::size_t index) const {
  train::Sample sample = base_->get(index);
  sample.image = gaussian_blur(sample.image, sigma_);
  return sample;
}

namespace {

class GdaLowpass : public Method {
 public:
  explicit GdaLowpass(const config::Params& params)
      : sigma_(params.get<double>("sigma")), per_class_(params.get<long>("synthetic_per_class")) {}

  TrainingInputs prepare(const CellData& data) override {
    if (data.task.synthetic.empty())
      throw RunError("gda_lowpass: the task '" + data.task.dataset +
                     "' has no synthetic pool; set data.synthetic (e.g. data.synthetic.name=synthetic_folder "
                     "data.synthetic.root=DIR)");
    SyntheticPool pool = synthetic_pool_of(data.task.synthetic, data.task.generator);
    pool.source = std::make_shared<BlurredSource>(pool.source, sigma_);
    TrainingInputs inputs = mix_real_and_synthetic(Method::prepare(data), pool, per_class_, data.seed, "gda_lowpass");
    inputs.record["lowpass_sigma"] = sigma_;
    return inputs;
  }

 private:
  double sigma_;
  long per_class_;
};

}  // namespace

config::Schema gda_lowpass_schema() {
  config::Schema schema = gda_schema();
  schema.add_float("sigma", 0.8, "standard deviation (pixels) of the Gaussian blur of the synthetic images", 0.0, 20.0);
  return schema;
}

std::unique_ptr<Method> make_gda_lowpass(const config::Params& params) { return std::make_unique<GdaLowpass>(params); }

}  // namespace frerec::augmentations
