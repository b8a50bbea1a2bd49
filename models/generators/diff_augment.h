// Differentiable augmentation for data-efficient GAN training (Zhao et al. 2020,
// "Differentiable Augmentation for Data-Efficient GAN Training", DiffAugment), applied to
// the real and the generated images that the discriminator sees, in both the D and the G
// step, so gradients reach the generator through the augmentation.
// Operations on [N,C,H,W] images in [-1,1], drawn independently per image, as the reference
// implementation (mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py) defines them:
//   colour:      brightness x + (u − 0.5);  saturation (x − m_c)·2u + m_c with m_c the
//                channel mean per pixel (identity for one channel);  contrast
//                (x − m)·(u + 0.5) + m with m the image mean;  u ~ U[0,1) per image and op.
//   translation: integer shifts in [−S/8, S/8] per axis (S/8 rounded half up like
//                int(S·0.125 + 0.5)), zero padding (0 = mid-grey in [-1,1]).
//   cutout:      one square of side S/2 (int(S·0.5 + 0.5)) at a random centre in
//                [0, S + 1 − S/2 mod 2) per axis, shifted by −S/4, clipped to the image, set to 0.
// Randomness comes from `generator`-free LibTorch draws (at::rand / at::randint on the
// global generator); the caller seeds it per step, so training stays reproducible.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace frerec::generators {

enum class AugmentOp { kColor, kTranslation, kCutout };

// "color,translation,cutout" (any subset, any order, "" or "none" = nothing); ConfigError
// naming `key` for an unknown op.
std::vector<AugmentOp> parse_diff_augment(const std::string& policy, const std::string& key);

at::Tensor diff_augment(const at::Tensor& images, const std::vector<AugmentOp>& ops);

// The single operations (exposed for tests).
at::Tensor augment_color(const at::Tensor& x);
at::Tensor augment_translation(const at::Tensor& x, double ratio = 0.125);
at::Tensor augment_cutout(const at::Tensor& x, double ratio = 0.5);

}  // namespace frerec::generators
