#include "augmentations/frerec/rhm_loss.h"

#include <ATen/ATen.h>
#include <torch/fft.h>

#include "framework/core/error.h"
#include "models/restoration/torch_compat.h"

namespace frerec::rhm {

SpectralLoss parse_spectral_loss(const std::string& name) {
  if (name == "amplitude") return SpectralLoss::kAmplitude;
  if (name == "complex") return SpectralLoss::kComplex;
  throw ConfigError("dae: spectral_loss='" + name + "' must be amplitude or complex");
}

LossTerms reconstruction_loss(const at::Tensor& prediction, const at::Tensor& target, double spectral_weight,
                              SpectralLoss spectral) {
  if (!prediction.sizes().equals(target.sizes()))
    throw RunError("dae loss: prediction " + std::string(c10::str(prediction.sizes())) + " and target " +
                   std::string(c10::str(target.sizes())) + " differ in shape");
  LossTerms terms;
  terms.pixel = (prediction - target).pow(2).mean();
  auto fp = torch::fft::fft2(prediction, FREREC_TORCH_NULLOPT, {-2, -1}, "ortho");
  auto ft = torch::fft::fft2(target, FREREC_TORCH_NULLOPT, {-2, -1}, "ortho");
  if (spectral == SpectralLoss::kAmplitude) {
    terms.spectral = (fp.abs() - ft.abs()).pow(2).mean();
  } else {
    terms.spectral = (fp - ft).abs().pow(2).mean();
  }
  terms.total = terms.pixel + spectral_weight * terms.spectral;
  return terms;
}

}  // namespace frerec::rhm
