// Reconstruction loss of the denoising auto-encoder (paper Eq. 7; shared/DESIGN.md §4 "RHM"):
//   L = mean (x − A(x̂))²  +  λ · mean (|F(x)| − |F(A(x̂))|)²      (amplitude, the default)
//   L = mean (x − A(x̂))²  +  λ · mean |F(x) − F(A(x̂))|²          (complex)
// F = fft2 over H, W with norm "ortho"; means over all elements [N,C,H,W].
// Why the default is `amplitude`: the orthonormal DFT is unitary, so by Parseval
// Σ|F(x) − F(y)|² = Σ|x − y|² and, with the same element count, the complex spectral MSE is
// exactly the pixel MSE — `complex` merely scales the pixel term by (1 + λ). The amplitude
// term discards the phase and penalises a different quantity (the spectrum's magnitude),
// which is what the paper's "frequency similarity" is meant to add.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace frerec::rhm {

enum class SpectralLoss { kAmplitude, kComplex };
SpectralLoss parse_spectral_loss(const std::string& name);  // "amplitude" | "complex"; ConfigError otherwise

struct LossTerms {
  at::Tensor total, pixel, spectral;
};

LossTerms reconstruction_loss(const at::Tensor& prediction, const at::Tensor& target, double spectral_weight,
                              SpectralLoss spectral);

}  // namespace frerec::rhm
