// AutoAugment (Cubuk et al. 2019) as torchvision.transforms.AutoAugment implements it
// (REFERENCE.md "AutoAugment"): learned policies of 2-op sub-policies, 10 magnitude bins,
// signed magnitudes, nearest interpolation, fill 0, on uint8 images [C,H,W] with C = 1 or 3.
//
// The operations reproduce torchvision.transforms.functional on uint8 tensors bit for bit
// (golden tests in tests/augmentations against Debian's python3-torchvision 0.14):
//   * geometric ops (Rotate, ShearX/Y, TranslateX/Y) build torchvision's inverse affine
//     matrix (float64), cast it to float32 and sample with grid_sample's nearest rule
//     (align_corners=False: source = (g + 1)·size/2 − 0.5, round half to even, zero outside);
//     Shear uses centre [0, 0] (the image's top-left corner) as AutoAugment does, Rotate and
//     Translate the image centre; Translate magnitudes are truncated to integer pixels.
//   * Brightness/Color/Contrast/Sharpness are torchvision's _blend(img, degenerate, 1 + m):
//     float32 r·img + (1 − r)·degenerate, clamped to [0, 255] and truncated to uint8, with
//     degenerate = zeros, the grayscale image (0.2989 R + 0.587 G + 0.114 B, truncated),
//     the float mean of the grayscale image, or the 3×3 smoothing [1 1 1; 1 5 1; 1 1 1]/13
//     (rounded, border pixels kept). Color is the identity on 1-channel images.
//   * Posterize keeps the top `bits` bits; Solarize inverts pixels ≥ threshold; AutoContrast
//     stretches each channel's [min, max] to [0, 255] (unchanged when min = max); Equalize is
//     torchvision's histogram lookup (step = ⌊(Σ histogram without its last non-zero bin)/255⌋,
//     identity when step = 0); Invert is 255 − x.
// Sampling (AutoAugment::apply): sub-policy index uniform, each op applied when its uniform
// draw in [0, 1) is ≤ p, the sign of a signed magnitude negative on a fair coin — all from the
// caller's generator (the trainer's per-sample std::mt19937_64). Torchvision draws from
// torch's global generator, so individual draws differ; the distribution is the same.
// Float [0,1] images are converted with round(x·255) (clamped) and back with /255
// (AutoAugmentTransform).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "framework/core/image.h"
#include "framework/train/sample_source.h"

namespace frerec::augmentations {

// uint8 image, channel-major [C,H,W].
struct ByteImage {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<std::uint8_t> data;

  ByteImage() = default;
  ByteImage(int c, int h, int w, std::uint8_t fill = 0)
      : channels(c), height(h), width(w), data(static_cast<std::size_t>(c) * h * w, fill) {}
  std::size_t plane_size() const { return static_cast<std::size_t>(height) * width; }
  std::uint8_t& at(int c, int y, int x) { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
  std::uint8_t at(int c, int y, int x) const { return data[(static_cast<std::size_t>(c) * height + y) * width + x]; }
};

// round(clamp(x, 0, 1)·255) per pixel, and back (x/255).
ByteImage to_bytes(const Image& image);
Image to_float(const ByteImage& image);

enum class AutoAugmentOp {
  kShearX, kShearY, kTranslateX, kTranslateY, kRotate, kBrightness, kColor, kContrast, kSharpness,
  kPosterize, kSolarize, kAutoContrast, kEqualize, kInvert
};
const char* op_name(AutoAugmentOp op);             // torchvision's name, e.g. "ShearX"
AutoAugmentOp parse_op(const std::string& name);   // ConfigError for an unknown name

struct PolicyStep {
  AutoAugmentOp op;
  double probability;
  int magnitude_bin;  // 0..9, or -1 for ops without a magnitude
};
using SubPolicy = std::array<PolicyStep, 2>;

// Policies by name: "imagenet" (REFERENCE.md), "cifar10", "svhn" (torchvision's tables).
std::vector<std::string> autoaugment_policy_names();
const std::vector<SubPolicy>& autoaugment_policy(const std::string& name);  // ConfigError if unknown

// The unsigned magnitude of `op` at `bin` of `num_bins` for an image of height × width,
// as torchvision's _augmentation_space computes it (float32 linspace values).
double autoaugment_magnitude(AutoAugmentOp op, int bin, int height, int width, int num_bins = 10);
bool autoaugment_signed(AutoAugmentOp op);

// One op with a signed magnitude, as torchvision's _apply_op (nearest, fill 0).
ByteImage apply_op(const ByteImage& image, AutoAugmentOp op, double magnitude);

// torchvision.transforms.functional equivalents on uint8 images.
namespace tvf {
// F.affine(img, angle, translate, scale=1, shear, NEAREST, fill=None[, center]):
// `center_top_left` = center [0, 0] (AutoAugment's shear); otherwise the image centre.
ByteImage affine(const ByteImage& image, double angle, double translate_x, double translate_y, double shear_x,
                 double shear_y, bool center_top_left);
ByteImage rotate(const ByteImage& image, double angle);
ByteImage adjust_brightness(const ByteImage& image, double factor);
ByteImage adjust_saturation(const ByteImage& image, double factor);
ByteImage adjust_contrast(const ByteImage& image, double factor);
ByteImage adjust_sharpness(const ByteImage& image, double factor);
ByteImage posterize(const ByteImage& image, int bits);
ByteImage solarize(const ByteImage& image, double threshold);
ByteImage autocontrast(const ByteImage& image);
ByteImage equalize(const ByteImage& image);
ByteImage invert(const ByteImage& image);
ByteImage rgb_to_grayscale(const ByteImage& image);  // 1 channel
}  // namespace tvf

// The policy with its sampling rule.
class AutoAugment {
 public:
  explicit AutoAugment(const std::string& policy = "imagenet");
  struct Draw {
    int sub_policy = 0;
    std::array<bool, 2> applied{};
    std::array<bool, 2> negative{};
  };
  // The random choices for one image (sub-policy, which ops, which signs).
  Draw draw(std::mt19937_64& rng) const;
  ByteImage apply(const ByteImage& image, const Draw& draw) const;
  ByteImage apply(const ByteImage& image, std::mt19937_64& rng) const { return apply(image, draw(rng)); }
  const std::vector<SubPolicy>& policy() const { return *policy_; }

 private:
  const std::vector<SubPolicy>* policy_;
};

// The per-sample transform the trainer runs (float image → uint8 → policy → float).
class AutoAugmentTransform : public train::SampleTransform {
 public:
  explicit AutoAugmentTransform(const std::string& policy = "imagenet") : augment_(policy) {}
  void apply(Image& image, std::mt19937_64& rng) const override;

 private:
  AutoAugment augment_;
};

}  // namespace frerec::augmentations
