// GDA + low-pass: real + Gaussian-blurred synthetic images — the naïve way to remove a
// generator's high-frequency artefacts, and the worked example of docs/adding_a_method.md.
//
//   method: {name: gda_lowpass, gda_lowpass: {sigma: 0.8, synthetic_per_class: -1}}
//
// Each synthetic image is blurred per channel with a separable Gaussian of standard
// deviation `sigma` pixels (kernel radius ceil(3σ), reflect-101 borders as OpenCV's
// default), when the trainer reads it; real training, validation and test images are
// untouched. Unlike FreRec it removes fine detail along with the artefacts, which is the
// comparison the row is for.
#pragma once

#include <memory>
#include <vector>

#include "augmentations/method.h"
#include "framework/core/image_filter.h"

namespace frerec::augmentations {

// The blur itself lives in framework/core/image_filter.h (shared with the positive control).
using frerec::gaussian_blur;
using frerec::gaussian_kernel;

// Wraps a source and blurs every image it returns (thread-safe like the source).
class BlurredSource : public train::SampleSource {
 public:
  BlurredSource(std::shared_ptr<const train::SampleSource> base, double sigma) : base_(std::move(base)), sigma_(sigma) {}
  std::size_t size() const override { return base_->size(); }
  train::Sample get(std::size_t index) const override;

 private:
  std::shared_ptr<const train::SampleSource> base_;
  double sigma_;
};

config::Schema gda_lowpass_schema();
std::unique_ptr<Method> make_gda_lowpass(const config::Params& params);

}  // namespace frerec::augmentations
