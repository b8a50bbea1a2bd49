#include "augmentations/core/gda_lowpass.h"

#include <cmath>

#include "augmentations/core/gda.h"
#include "framework/core/error.h"

namespace frerec::augmentations {

std::vector<float> gaussian_kernel(double sigma) {
  if (!(sigma > 0)) throw ConfigError("gaussian_kernel: sigma " + std::to_string(sigma) + " must be > 0");
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  std::vector<double> taps(static_cast<std::size_t>(2 * radius + 1));
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += taps[static_cast<std::size_t>(i + radius)] = std::exp(-0.5 * i * i / (sigma * sigma));
  std::vector<float> kernel(taps.size());
  for (std::size_t i = 0; i < taps.size(); ++i) kernel[i] = static_cast<float>(taps[i] / sum);
  return kernel;
}

namespace {
// Reflect-101 (…c b | a b c d | c b…) for any offset, also when it exceeds the size.
int reflect101(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}
}  // namespace

Image gaussian_blur(const Image& image, double sigma) {
  if (sigma == 0) return image;
  const std::vector<float> kernel = gaussian_kernel(sigma);
  const int radius = static_cast<int>(kernel.size() / 2);
  Image rows(image.channels, image.height, image.width), out(image.channels, image.height, image.width);
  for (int c = 0; c < image.channels; ++c) {
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x) {
        float v = 0;
        for (int k = -radius; k <= radius; ++k)
          v += kernel[static_cast<std::size_t>(k + radius)] * image.at(c, y, reflect101(x + k, image.width));
        rows.at(c, y, x) = v;
      }
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x) {
        float v = 0;
        for (int k = -radius; k <= radius; ++k)
          v += kernel[static_cast<std::size_t>(k + radius)] * rows.at(c, reflect101(y + k, image.height), x);
        out.at(c, y, x) = v;
      }
  }
  return out;
}

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
