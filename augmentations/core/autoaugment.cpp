// AutoAugment policies and torchvision-exact uint8 operations (see autoaugment.h).
#include "augmentations/core/autoaugment.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "framework/config/schema.h"
#include "framework/core/error.h"
#include "framework/core/random.h"

namespace frerec::augmentations {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDegToRad = kPi / 180.0;  // Python's math.radians factor
constexpr double kRadToDeg = 180.0 / kPi;  // Python's math.degrees factor

// torch.linspace(start, end, steps) in float32 (ATen's CPU formula: the first half counts
// up from start, the second half down from end; ATen's AVX2 build contracts each
// `start + step·i` into one fused multiply-add, so fmaf reproduces it bit for bit).
float linspace_at(double start, double end, int steps, int index) {
  const float s = static_cast<float>(start), e = static_cast<float>(end);
  if (steps == 1) return s;
  const float step = (e - s) / static_cast<float>(steps - 1);
  if (index < steps / 2) return std::fma(step, static_cast<float>(index), s);
  return std::fma(-step, static_cast<float>(steps - index - 1), e);
}

std::uint8_t saturate(float v) {
  // clamp(0, 255) then .to(uint8): truncation toward zero.
  v = std::min(255.0f, std::max(0.0f, v));
  return static_cast<std::uint8_t>(v);
}

// torchvision's _blend(img1, img2, ratio) on uint8 img1 and a float32 img2 given per pixel.
template <typename Degenerate>
ByteImage blend(const ByteImage& image, double ratio, Degenerate degenerate) {
  const float r = static_cast<float>(ratio);
  const float s = static_cast<float>(1.0 - ratio);
  ByteImage out(image.channels, image.height, image.width);
  for (int c = 0; c < image.channels; ++c)
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x) {
        const float a = r * static_cast<float>(image.at(c, y, x));
        const float b = s * degenerate(c, y, x);
        out.at(c, y, x) = saturate(a + b);
      }
  return out;
}

void check_channels(const ByteImage& image, const char* what) {
  if (image.channels != 1 && image.channels != 3)
    throw RunError(std::string("autoaugment: ") + what + " needs a 1- or 3-channel image, got " +
                   std::to_string(image.channels) + " channels");
}

using P = PolicyStep;
constexpr AutoAugmentOp kShX = AutoAugmentOp::kShearX, kShY = AutoAugmentOp::kShearY,
                        kTrX = AutoAugmentOp::kTranslateX, kTrY = AutoAugmentOp::kTranslateY,
                        kRot = AutoAugmentOp::kRotate, kBri = AutoAugmentOp::kBrightness,
                        kCol = AutoAugmentOp::kColor, kCon = AutoAugmentOp::kContrast,
                        kSha = AutoAugmentOp::kSharpness, kPos = AutoAugmentOp::kPosterize,
                        kSol = AutoAugmentOp::kSolarize, kAC = AutoAugmentOp::kAutoContrast,
                        kEq = AutoAugmentOp::kEqualize, kInv = AutoAugmentOp::kInvert;

const std::vector<SubPolicy> kImageNet = {
    {P{kPos, 0.4, 8}, P{kRot, 0.6, 9}},   {P{kSol, 0.6, 5}, P{kAC, 0.6, -1}},  {P{kEq, 0.8, -1}, P{kEq, 0.6, -1}},
    {P{kPos, 0.6, 7}, P{kPos, 0.6, 6}},   {P{kEq, 0.4, -1}, P{kSol, 0.2, 4}},  {P{kEq, 0.4, -1}, P{kRot, 0.8, 8}},
    {P{kSol, 0.6, 3}, P{kEq, 0.6, -1}},   {P{kPos, 0.8, 5}, P{kEq, 1.0, -1}},  {P{kRot, 0.2, 3}, P{kSol, 0.6, 8}},
    {P{kEq, 0.6, -1}, P{kPos, 0.4, 6}},   {P{kRot, 0.8, 8}, P{kCol, 0.4, 0}},  {P{kRot, 0.4, 9}, P{kEq, 0.6, -1}},
    {P{kEq, 0.0, -1}, P{kEq, 0.8, -1}},   {P{kInv, 0.6, -1}, P{kEq, 1.0, -1}}, {P{kCol, 0.6, 4}, P{kCon, 1.0, 8}},
    {P{kRot, 0.8, 8}, P{kCol, 1.0, 2}},   {P{kCol, 0.8, 8}, P{kSol, 0.8, 7}},  {P{kSha, 0.4, 7}, P{kInv, 0.6, -1}},
    {P{kShX, 0.6, 5}, P{kEq, 1.0, -1}},   {P{kCol, 0.4, 0}, P{kEq, 0.6, -1}},  {P{kEq, 0.4, -1}, P{kSol, 0.2, 4}},
    {P{kSol, 0.6, 5}, P{kAC, 0.6, -1}},   {P{kInv, 0.6, -1}, P{kEq, 1.0, -1}}, {P{kCol, 0.6, 4}, P{kCon, 1.0, 8}},
    {P{kEq, 0.8, -1}, P{kEq, 0.6, -1}},
};

const std::vector<SubPolicy> kCifar10 = {
    {P{kInv, 0.1, -1}, P{kCon, 0.2, 6}},  {P{kRot, 0.7, 2}, P{kTrX, 0.3, 9}},  {P{kSha, 0.8, 1}, P{kSha, 0.9, 3}},
    {P{kShY, 0.5, 8}, P{kTrY, 0.7, 9}},   {P{kAC, 0.5, -1}, P{kEq, 0.9, -1}},  {P{kShY, 0.2, 7}, P{kPos, 0.3, 7}},
    {P{kCol, 0.4, 3}, P{kBri, 0.6, 7}},   {P{kSha, 0.3, 9}, P{kBri, 0.7, 9}},  {P{kEq, 0.6, -1}, P{kEq, 0.5, -1}},
    {P{kCon, 0.6, 7}, P{kSha, 0.6, 5}},   {P{kCol, 0.7, 7}, P{kTrX, 0.5, 8}},  {P{kEq, 0.3, -1}, P{kAC, 0.4, -1}},
    {P{kTrY, 0.4, 3}, P{kSha, 0.2, 6}},   {P{kBri, 0.9, 6}, P{kCol, 0.2, 8}},  {P{kSol, 0.5, 2}, P{kInv, 0.0, -1}},
    {P{kEq, 0.2, -1}, P{kAC, 0.6, -1}},   {P{kEq, 0.2, -1}, P{kEq, 0.6, -1}},  {P{kCol, 0.9, 9}, P{kEq, 0.6, -1}},
    {P{kAC, 0.8, -1}, P{kSol, 0.2, 8}},   {P{kBri, 0.1, 3}, P{kCol, 0.7, 0}},  {P{kSol, 0.4, 5}, P{kAC, 0.9, -1}},
    {P{kTrY, 0.9, 9}, P{kTrY, 0.7, 9}},   {P{kAC, 0.9, -1}, P{kSol, 0.8, 3}},  {P{kEq, 0.8, -1}, P{kInv, 0.1, -1}},
    {P{kTrY, 0.7, 9}, P{kAC, 0.9, -1}},
};

const std::vector<SubPolicy> kSvhn = {
    {P{kShX, 0.9, 4}, P{kInv, 0.2, -1}},  {P{kShY, 0.9, 8}, P{kInv, 0.7, -1}}, {P{kEq, 0.6, -1}, P{kSol, 0.6, 6}},
    {P{kInv, 0.9, -1}, P{kEq, 0.6, -1}},  {P{kEq, 0.6, -1}, P{kRot, 0.9, 3}},  {P{kShX, 0.9, 4}, P{kAC, 0.8, -1}},
    {P{kShY, 0.9, 8}, P{kInv, 0.4, -1}},  {P{kShY, 0.9, 5}, P{kSol, 0.2, 6}},  {P{kInv, 0.9, -1}, P{kAC, 0.8, -1}},
    {P{kEq, 0.6, -1}, P{kRot, 0.9, 3}},   {P{kShX, 0.9, 4}, P{kSol, 0.3, 3}},  {P{kShY, 0.8, 8}, P{kInv, 0.7, -1}},
    {P{kEq, 0.9, -1}, P{kTrY, 0.6, 6}},   {P{kInv, 0.9, -1}, P{kEq, 0.6, -1}}, {P{kCon, 0.3, 3}, P{kRot, 0.8, 4}},
    {P{kInv, 0.8, -1}, P{kTrY, 0.0, 2}},  {P{kShY, 0.7, 6}, P{kSol, 0.4, 8}},  {P{kInv, 0.6, -1}, P{kRot, 0.8, 4}},
    {P{kShY, 0.3, 7}, P{kTrX, 0.9, 3}},   {P{kShX, 0.1, 6}, P{kInv, 0.6, -1}}, {P{kSol, 0.7, 2}, P{kTrY, 0.6, 7}},
    {P{kShY, 0.8, 4}, P{kInv, 0.8, -1}},  {P{kShX, 0.7, 9}, P{kTrY, 0.8, 3}},  {P{kShY, 0.8, 5}, P{kAC, 0.7, -1}},
    {P{kShX, 0.7, 2}, P{kInv, 0.1, -1}},
};

const std::map<AutoAugmentOp, const char*>& op_names() {
  static const std::map<AutoAugmentOp, const char*> names = {
      {kShX, "ShearX"},         {kShY, "ShearY"},       {kTrX, "TranslateX"}, {kTrY, "TranslateY"},
      {kRot, "Rotate"},         {kBri, "Brightness"},   {kCol, "Color"},      {kCon, "Contrast"},
      {kSha, "Sharpness"},      {kPos, "Posterize"},    {kSol, "Solarize"},   {kAC, "AutoContrast"},
      {kEq, "Equalize"},        {kInv, "Invert"}};
  return names;
}

}  // namespace

ByteImage to_bytes(const Image& image) {
  ByteImage out(image.channels, image.height, image.width);
  for (std::size_t i = 0; i < image.data.size(); ++i) {
    const float v = std::min(1.0f, std::max(0.0f, image.data[i]));
    out.data[i] = static_cast<std::uint8_t>(std::lround(v * 255.0f));
  }
  return out;
}

Image to_float(const ByteImage& image) {
  Image out(image.channels, image.height, image.width);
  for (std::size_t i = 0; i < image.data.size(); ++i) out.data[i] = static_cast<float>(image.data[i]) / 255.0f;
  return out;
}

const char* op_name(AutoAugmentOp op) { return op_names().at(op); }

AutoAugmentOp parse_op(const std::string& name) {
  std::vector<std::string> known;
  for (const auto& [op, text] : op_names()) {
    if (name == text) return op;
    known.push_back(text);
  }
  throw ConfigError("autoaugment: unknown operation '" + name + "' (did you mean '" + config::closest_key(name, known) +
                    "'?)");
}

std::vector<std::string> autoaugment_policy_names() { return {"imagenet", "cifar10", "svhn"}; }

const std::vector<SubPolicy>& autoaugment_policy(const std::string& name) {
  if (name == "imagenet") return kImageNet;
  if (name == "cifar10") return kCifar10;
  if (name == "svhn") return kSvhn;
  throw ConfigError("autoaugment: unknown policy '" + name + "'; use one of imagenet, cifar10, svhn");
}

bool autoaugment_signed(AutoAugmentOp op) {
  switch (op) {
    case AutoAugmentOp::kPosterize:
    case AutoAugmentOp::kSolarize:
    case AutoAugmentOp::kAutoContrast:
    case AutoAugmentOp::kEqualize:
    case AutoAugmentOp::kInvert:
      return false;
    default:
      return true;
  }
}

double autoaugment_magnitude(AutoAugmentOp op, int bin, int height, int width, int num_bins) {
  FREREC_ASSERT(bin >= 0 && bin < num_bins, "autoaugment magnitude bin out of range");
  switch (op) {
    case AutoAugmentOp::kShearX:
    case AutoAugmentOp::kShearY:
      return linspace_at(0.0, 0.3, num_bins, bin);
    case AutoAugmentOp::kTranslateX:
      return linspace_at(0.0, 150.0 / 331.0 * width, num_bins, bin);
    case AutoAugmentOp::kTranslateY:
      return linspace_at(0.0, 150.0 / 331.0 * height, num_bins, bin);
    case AutoAugmentOp::kRotate:
      return linspace_at(0.0, 30.0, num_bins, bin);
    case AutoAugmentOp::kBrightness:
    case AutoAugmentOp::kColor:
    case AutoAugmentOp::kContrast:
    case AutoAugmentOp::kSharpness:
      return linspace_at(0.0, 0.9, num_bins, bin);
    case AutoAugmentOp::kPosterize:
      // 8 − round(bin / ((num_bins − 1)/4)) in float32, round half to even.
      return 8 - static_cast<int>(std::nearbyint(static_cast<float>(bin) / (static_cast<float>(num_bins - 1) / 4.0f)));
    case AutoAugmentOp::kSolarize:
      return linspace_at(255.0, 0.0, num_bins, bin);
    default:
      return 0.0;
  }
}

namespace tvf {

ByteImage affine(const ByteImage& image, double angle, double translate_x, double translate_y, double shear_x,
                 double shear_y, bool center_top_left) {
  check_channels(image, "affine");
  const int w = image.width, h = image.height;
  // torchvision _get_inverse_affine_matrix (float64, scale 1).
  const double cx = center_top_left ? 1.0 * (0.0 - w * 0.5) : 0.0;
  const double cy = center_top_left ? 1.0 * (0.0 - h * 0.5) : 0.0;
  const double rot = angle * kDegToRad, sx = shear_x * kDegToRad, sy = shear_y * kDegToRad;
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  double m[6] = {d, -b, 0.0, -c, a, 0.0};
  m[2] += m[0] * (-cx - translate_x) + m[1] * (-cy - translate_y);
  m[5] += m[3] * (-cx - translate_x) + m[4] * (-cy - translate_y);
  m[2] += cx;
  m[5] += cy;
  // _gen_affine_grid in float32: base grid (x, y, 1) at pixel centres, theta rescaled by
  // (w/2, h/2); then grid_sample nearest, align_corners=False, zeros outside.
  float theta[6];
  for (int i = 0; i < 6; ++i) theta[i] = static_cast<float>(m[i]);
  const float half_w = 0.5f * static_cast<float>(w), half_h = 0.5f * static_cast<float>(h);
  const float rx[3] = {theta[0] / half_w, theta[1] / half_w, theta[2] / half_w};
  const float ry[3] = {theta[3] / half_h, theta[4] / half_h, theta[5] / half_h};
  const float scale_x = static_cast<float>(w) / 2.0f, scale_y = static_cast<float>(h) / 2.0f;
  ByteImage out(image.channels, h, w, 0);
  for (int oy = 0; oy < h; ++oy) {
    const float by = linspace_at(-h * 0.5 + 0.5, h * 0.5 + 0.5 - 1, h, oy);
    for (int ox = 0; ox < w; ++ox) {
      const float bx = linspace_at(-w * 0.5 + 0.5, w * 0.5 + 0.5 - 1, w, ox);
      const float gx = bx * rx[0] + by * rx[1] + rx[2];
      const float gy = bx * ry[0] + by * ry[1] + ry[2];
      const float ix = std::nearbyint((gx + 1.0f) * scale_x - 0.5f);
      const float iy = std::nearbyint((gy + 1.0f) * scale_y - 0.5f);
      if (!(ix >= 0.0f && ix < static_cast<float>(w) && iy >= 0.0f && iy < static_cast<float>(h))) continue;
      const int sx_i = static_cast<int>(ix), sy_i = static_cast<int>(iy);
      for (int ch = 0; ch < image.channels; ++ch) out.at(ch, oy, ox) = image.at(ch, sy_i, sx_i);
    }
  }
  return out;
}

ByteImage rotate(const ByteImage& image, double angle) {
  // F.rotate uses the inverse matrix of affine(-angle) about the image centre.
  return affine(image, -angle, 0.0, 0.0, 0.0, 0.0, false);
}

ByteImage rgb_to_grayscale(const ByteImage& image) {
  check_channels(image, "rgb_to_grayscale");
  if (image.channels == 1) return image;
  ByteImage out(1, image.height, image.width);
  const float wr = static_cast<float>(0.2989), wg = static_cast<float>(0.587), wb = static_cast<float>(0.114);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const float l = wr * static_cast<float>(image.at(0, y, x)) + wg * static_cast<float>(image.at(1, y, x));
      out.at(0, y, x) = static_cast<std::uint8_t>(l + wb * static_cast<float>(image.at(2, y, x)));
    }
  return out;
}

ByteImage adjust_brightness(const ByteImage& image, double factor) {
  check_channels(image, "Brightness");
  FREREC_ASSERT(factor >= 0, "brightness factor must be non-negative");
  return blend(image, factor, [](int, int, int) { return 0.0f; });
}

ByteImage adjust_saturation(const ByteImage& image, double factor) {
  check_channels(image, "Color");
  FREREC_ASSERT(factor >= 0, "saturation factor must be non-negative");
  if (image.channels == 1) return image;  // as torchvision (and PIL): identity on grayscale
  const ByteImage gray = rgb_to_grayscale(image);
  return blend(image, factor, [&](int, int y, int x) { return static_cast<float>(gray.at(0, y, x)); });
}

ByteImage adjust_contrast(const ByteImage& image, double factor) {
  check_channels(image, "Contrast");
  FREREC_ASSERT(factor >= 0, "contrast factor must be non-negative");
  const ByteImage gray = rgb_to_grayscale(image);
  // Integer sum (exact in float32 up to 2^24, i.e. every image up to 256×256 of 255s).
  double sum = 0.0;
  for (std::uint8_t v : gray.data) sum += v;
  const float mean = static_cast<float>(sum) / static_cast<float>(gray.data.size());
  return blend(image, factor, [mean](int, int, int) { return mean; });
}

ByteImage adjust_sharpness(const ByteImage& image, double factor) {
  check_channels(image, "Sharpness");
  FREREC_ASSERT(factor >= 0, "sharpness factor must be non-negative");
  if (image.width <= 2 || image.height <= 2) return image;
  // Degenerate: [1 1 1; 1 5 1; 1 1 1]/13 on the interior, rounded; the border kept. The
  // weighted sum k is an integer and k/13 is never a tie, so round(k/13) = ⌊(2k + 13)/26⌋.
  ByteImage smooth = image;
  for (int c = 0; c < image.channels; ++c)
    for (int y = 1; y < image.height - 1; ++y)
      for (int x = 1; x < image.width - 1; ++x) {
        int k = 4 * image.at(c, y, x);
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) k += image.at(c, y + dy, x + dx);
        smooth.at(c, y, x) = static_cast<std::uint8_t>((2 * k + 13) / 26);
      }
  return blend(image, factor, [&](int c, int y, int x) { return static_cast<float>(smooth.at(c, y, x)); });
}

ByteImage posterize(const ByteImage& image, int bits) {
  check_channels(image, "Posterize");
  FREREC_ASSERT(bits >= 0 && bits <= 8, "posterize bits must be in [0, 8]");
  const std::uint8_t mask = static_cast<std::uint8_t>((0xFF << (8 - bits)) & 0xFF);
  ByteImage out = image;
  for (auto& v : out.data) v &= mask;
  return out;
}

ByteImage solarize(const ByteImage& image, double threshold) {
  check_channels(image, "Solarize");
  const float t = static_cast<float>(threshold);
  ByteImage out = image;
  for (auto& v : out.data)
    if (static_cast<float>(v) >= t) v = static_cast<std::uint8_t>(255 - v);
  return out;
}

ByteImage autocontrast(const ByteImage& image) {
  check_channels(image, "AutoContrast");
  ByteImage out(image.channels, image.height, image.width);
  const std::size_t n = image.plane_size();
  for (int c = 0; c < image.channels; ++c) {
    const std::uint8_t* in = image.data.data() + c * n;
    const auto [lo, hi] = std::minmax_element(in, in + n);
    float minimum = static_cast<float>(*lo);
    // torch: bound / (max − min) is (max − min).reciprocal() · bound.
    float scale = (1.0f / (static_cast<float>(*hi) - minimum)) * 255.0f;
    if (!std::isfinite(scale)) {
      minimum = 0.0f;
      scale = 1.0f;
    }
    std::uint8_t* o = out.data.data() + c * n;
    for (std::size_t i = 0; i < n; ++i) o[i] = saturate((static_cast<float>(in[i]) - minimum) * scale);
  }
  return out;
}

ByteImage equalize(const ByteImage& image) {
  check_channels(image, "Equalize");
  ByteImage out = image;
  const std::size_t n = image.plane_size();
  for (int c = 0; c < image.channels; ++c) {
    std::uint8_t* plane = out.data.data() + c * n;
    std::int64_t hist[256] = {0};
    for (std::size_t i = 0; i < n; ++i) ++hist[plane[i]];
    // step = ⌊(sum of the non-zero bins except the last non-zero one) / 255⌋
    int last = 255;
    while (last > 0 && hist[last] == 0) --last;
    std::int64_t total = 0;
    for (int v = 0; v < last; ++v) total += hist[v];
    const std::int64_t step = total / 255;
    if (step == 0) continue;
    std::uint8_t lut[256];
    std::int64_t cumulative = 0;
    lut[0] = 0;
    for (int v = 0; v < 255; ++v) {
      cumulative += hist[v];
      lut[v + 1] = static_cast<std::uint8_t>(std::min<std::int64_t>(255, (cumulative + step / 2) / step));
    }
    for (std::size_t i = 0; i < n; ++i) plane[i] = lut[plane[i]];
  }
  return out;
}

ByteImage invert(const ByteImage& image) {
  check_channels(image, "Invert");
  ByteImage out = image;
  for (auto& v : out.data) v = static_cast<std::uint8_t>(255 - v);
  return out;
}

}  // namespace tvf

ByteImage apply_op(const ByteImage& image, AutoAugmentOp op, double magnitude) {
  switch (op) {
    case AutoAugmentOp::kShearX:
      return tvf::affine(image, 0.0, 0.0, 0.0, std::atan(magnitude) * kRadToDeg, 0.0, true);
    case AutoAugmentOp::kShearY:
      return tvf::affine(image, 0.0, 0.0, 0.0, 0.0, std::atan(magnitude) * kRadToDeg, true);
    case AutoAugmentOp::kTranslateX:
      return tvf::affine(image, 0.0, static_cast<double>(static_cast<long>(magnitude)), 0.0, 0.0, 0.0, false);
    case AutoAugmentOp::kTranslateY:
      return tvf::affine(image, 0.0, 0.0, static_cast<double>(static_cast<long>(magnitude)), 0.0, 0.0, false);
    case AutoAugmentOp::kRotate:
      return tvf::rotate(image, magnitude);
    case AutoAugmentOp::kBrightness:
      return tvf::adjust_brightness(image, 1.0 + magnitude);
    case AutoAugmentOp::kColor:
      return tvf::adjust_saturation(image, 1.0 + magnitude);
    case AutoAugmentOp::kContrast:
      return tvf::adjust_contrast(image, 1.0 + magnitude);
    case AutoAugmentOp::kSharpness:
      return tvf::adjust_sharpness(image, 1.0 + magnitude);
    case AutoAugmentOp::kPosterize:
      return tvf::posterize(image, static_cast<int>(magnitude));
    case AutoAugmentOp::kSolarize:
      return tvf::solarize(image, magnitude);
    case AutoAugmentOp::kAutoContrast:
      return tvf::autocontrast(image);
    case AutoAugmentOp::kEqualize:
      return tvf::equalize(image);
    case AutoAugmentOp::kInvert:
      return tvf::invert(image);
  }
  FREREC_ASSERT(false, "unhandled AutoAugment op");
  return image;
}

AutoAugment::AutoAugment(const std::string& policy) : policy_(&autoaugment_policy(policy)) {}

AutoAugment::Draw AutoAugment::draw(std::mt19937_64& rng) const {
  Draw d;
  d.sub_policy = static_cast<int>(random::uniform_index(rng, policy_->size()));
  const SubPolicy& sub = (*policy_)[static_cast<std::size_t>(d.sub_policy)];
  for (int i = 0; i < 2; ++i) d.applied[i] = random::uniform01(rng) <= sub[i].probability;
  for (int i = 0; i < 2; ++i) d.negative[i] = !random::fair_coin(rng);
  return d;
}

ByteImage AutoAugment::apply(const ByteImage& image, const Draw& draw) const {
  const SubPolicy& sub = policy_->at(static_cast<std::size_t>(draw.sub_policy));
  ByteImage out = image;
  for (int i = 0; i < 2; ++i) {
    if (!draw.applied[i]) continue;
    const PolicyStep& step = sub[i];
    double magnitude =
        step.magnitude_bin >= 0 ? autoaugment_magnitude(step.op, step.magnitude_bin, out.height, out.width) : 0.0;
    if (autoaugment_signed(step.op) && draw.negative[i]) magnitude = -magnitude;
    out = apply_op(out, step.op, magnitude);
  }
  return out;
}

void AutoAugmentTransform::apply(Image& image, std::mt19937_64& rng) const {
  if (image.channels != 1 && image.channels != 3)
    throw RunError("autoaugment: images must have 1 or 3 channels, got " + std::to_string(image.channels));
  image = to_float(augment_.apply(to_bytes(image), rng));
}

}  // namespace frerec::augmentations
