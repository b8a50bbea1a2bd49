#include "framework/spectral/spectrum.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "framework/core/error.h"
#include "framework/spectral/parallel.h"
#include "framework/spectral/validate.h"

namespace frerec::spectral {

MaskShape parse_mask_shape(const std::string& name, const std::string& component) {
  if (name == "square") return MaskShape::kSquare;
  if (name == "circle") return MaskShape::kCircle;
  throw ConfigError(component + ": mask '" + name + "' is not known; use 'square' or 'circle'");
}

const char* to_string(MaskShape shape) { return shape == MaskShape::kSquare ? "square" : "circle"; }

template <typename Real>
Spectrum<Real> centred_spectrum(const Image& image, FftNorm norm) {
  require_non_empty(image, "spectrum", "input", 0);
  Spectrum<Real> out;
  out.channels = image.channels;
  out.height = image.height;
  out.width = image.width;
  out.data.resize(image.size());
  const std::size_t n = image.plane_size();
  std::vector<Real> real(n);
  std::vector<std::complex<Real>> raw(n);
  for (int c = 0; c < image.channels; ++c) {
    const float* src = image.plane(c);
    for (std::size_t i = 0; i < n; ++i) real[i] = static_cast<Real>(src[i]);
    fft2_real<Real>(real.data(), raw.data(), image.height, image.width, norm);
    fftshift2(raw.data(), out.plane(c), image.height, image.width);
  }
  return out;
}

template <typename Real>
Image inverse_centred_spectrum(const Spectrum<Real>& spectrum, FftNorm norm) {
  if (spectrum.channels <= 0 || spectrum.height <= 0 || spectrum.width <= 0 ||
      spectrum.data.size() != static_cast<std::size_t>(spectrum.channels) * spectrum.plane_size()) {
    throw ConfigError("spectrum: inverse of an empty or inconsistent spectrum (" + std::to_string(spectrum.channels) +
                      "x" + std::to_string(spectrum.height) + "x" + std::to_string(spectrum.width) + ")");
  }
  Image out(spectrum.channels, spectrum.height, spectrum.width);
  const std::size_t n = spectrum.plane_size();
  std::vector<std::complex<Real>> raw(n);
  for (int c = 0; c < spectrum.channels; ++c) {
    ifftshift2(spectrum.plane(c), raw.data(), spectrum.height, spectrum.width);
    fft2<Real>(raw.data(), raw.data(), spectrum.height, spectrum.width, FftDirection::kInverse, norm);
    float* dst = out.plane(c);
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(raw[i].real());
  }
  return out;
}

template <typename Real>
std::vector<Spectrum<Real>> centred_spectra(const std::vector<Image>& images, int threads, FftNorm norm) {
  std::vector<Spectrum<Real>> out(images.size());
  parallel_for(images.size(), threads, [&](std::size_t i) { out[i] = centred_spectrum<Real>(images[i], norm); });
  return out;
}

template <typename Real>
std::vector<Real> amplitude(const Spectrum<Real>& spectrum) {
  std::vector<Real> out(spectrum.data.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::abs(spectrum.data[i]);
  return out;
}

template <typename Real>
std::vector<Real> phase(const Spectrum<Real>& spectrum) {
  std::vector<Real> out(spectrum.data.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::arg(spectrum.data[i]);
  return out;
}

template <typename Real>
std::vector<Real> log_amplitude(const Spectrum<Real>& spectrum, Real epsilon) {
  std::vector<Real> out(spectrum.data.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::log(std::abs(spectrum.data[i]) + epsilon);
  return out;
}

std::vector<std::uint8_t> low_frequency_mask(int height, int width, double ratio, MaskShape shape) {
  if (!(ratio > 0.0 && ratio <= 1.0)) {
    char text[64];
    std::snprintf(text, sizeof(text), "%g", ratio);
    throw ConfigError(std::string("spectrum: mask ratio r=") + text + " must be in (0,1]");
  }
  if (height <= 0 || width <= 0) {
    throw ConfigError("spectrum: mask size " + std::to_string(height) + "x" + std::to_string(width) +
                      " must be positive");
  }
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(height) * width, 0);
  const double half_h = ratio * height / 2.0, half_w = ratio * width / 2.0;
  const double radius = ratio * std::min(height, width) / 2.0;
  for (int y = 0; y < height; ++y) {
    const double ky = y - height / 2;
    for (int x = 0; x < width; ++x) {
      const double kx = x - width / 2;
      const bool low = shape == MaskShape::kSquare ? (std::abs(ky) <= half_h && std::abs(kx) <= half_w)
                                                   : (ky * ky + kx * kx <= radius * radius);
      mask[static_cast<std::size_t>(y) * width + x] = low ? 1 : 0;
    }
  }
  return mask;
}

std::vector<double> azimuthal_profile(const Image& image) {
  require_non_empty(image, "profile", "input", 0);
  require_finite(image, "profile", "input", 0);
  const int h = image.height, w = image.width;
  if (h < 4 || w < 4) {
    throw ConfigError("profile: image size " + std::to_string(h) + "x" + std::to_string(w) +
                      " is too small for a 1-D profile (need at least 4x4)");
  }
  if (image.channels != 1 && image.channels != 3) {
    throw ConfigError("profile: " + std::to_string(image.channels) + " channels; expected 1 (gray) or 3 (RGB)");
  }
  const std::size_t n = image.plane_size();
  std::vector<double> gray(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = image.channels == 1
                         ? image.data[i]
                         : 0.2989 * image.data[i] + 0.5870 * image.data[n + i] + 0.1140 * image.data[2 * n + i];
    gray[i] = 255.0 * v;
  }
  std::vector<std::complex<double>> raw(n), shifted(n);
  fft2_real<double>(gray.data(), raw.data(), h, w, FftNorm::kBackward);
  fftshift2(raw.data(), shifted.data(), h, w);
  // Durall's radialProfile.azimuthalAverage: integer radius from ((W-1)/2, (H-1)/2);
  // groups of equal integer radius in increasing order, first and last group dropped.
  const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  const int max_radius = static_cast<int>(std::hypot(std::max(cx, w - 1 - cx), std::max(cy, h - 1 - cy)));
  std::vector<double> sum(max_radius + 1, 0.0);
  std::vector<long> count(max_radius + 1, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int r = static_cast<int>(std::hypot(x - cx, y - cy));
      const std::complex<double> f = shifted[static_cast<std::size_t>(y) * w + x] + 1e-8;
      sum[r] += 20.0 * std::log(std::abs(f));
      ++count[r];
    }
  }
  // Radii present, in increasing order (all integer radii are present for sizes ≥ 4).
  std::vector<int> present;
  for (int r = 0; r <= max_radius; ++r)
    if (count[r] > 0) present.push_back(r);
  std::vector<double> profile;
  for (std::size_t g = 1; g + 1 < present.size(); ++g) profile.push_back(sum[present[g]] / count[present[g]]);
  FREREC_ASSERT(!profile.empty(), "profile: no radial bins");
  const auto [lo, hi] = std::minmax_element(profile.begin(), profile.end());
  const double low = *lo, range = *hi - *lo;
  for (double& v : profile) v = range > 0 ? (v - low) / range : 0.0;
  return profile;
}

std::vector<double> mean_azimuthal_profile(const std::vector<Image>& images, int threads) {
  if (images.empty()) throw ConfigError("profile: the image set is empty; give at least one image");
  require_uniform_set(images, "profile", "set");
  std::vector<std::vector<double>> profiles(images.size());
  parallel_for(images.size(), threads, [&](std::size_t i) { profiles[i] = azimuthal_profile(images[i]); });
  std::vector<double> mean(profiles[0].size(), 0.0);
  for (const auto& p : profiles)
    for (std::size_t j = 0; j < mean.size(); ++j) mean[j] += p[j];
  for (double& v : mean) v /= static_cast<double>(profiles.size());
  return mean;
}

std::vector<double> mean_azimuthal_profile(const ImageStore& images, int threads) {
  if (images.empty()) throw ConfigError("profile: the image set is empty; give at least one image");
  std::vector<double> mean;
  for_each_chunk(images, images.chunk_images(), [&](std::size_t, const std::vector<Image>& chunk) {
    require_uniform_set(chunk, "profile", "set");
    std::vector<std::vector<double>> profiles(chunk.size());
    parallel_for(chunk.size(), threads, [&](std::size_t i) { profiles[i] = azimuthal_profile(chunk[i]); });
    if (mean.empty()) mean.assign(profiles[0].size(), 0.0);
    for (const auto& p : profiles)
      for (std::size_t j = 0; j < mean.size(); ++j) mean[j] += p[j];
  });
  for (double& v : mean) v /= static_cast<double>(images.size());
  return mean;
}

SpectralGap spectral_gap(const std::vector<double>& a, const std::vector<double>& b, double ratio) {
  if (a.size() != b.size() || a.empty()) {
    throw ConfigError("spectral gap: the two mean profiles have " + std::to_string(a.size()) + " and " +
                      std::to_string(b.size()) + " bins; compare sets of the same image size");
  }
  if (!(ratio >= 0.0 && ratio <= 1.0)) {
    throw ConfigError("spectral gap: band ratio r=" + std::to_string(ratio) + " must be in [0,1]");
  }
  SpectralGap gap;
  gap.bins = static_cast<int>(a.size());
  // Bin j holds radius j + 1; R_max = bins.
  const double r_max = static_cast<double>(a.size());
  gap.first_high_bin = std::max(0, static_cast<int>(std::ceil(ratio * r_max)) - 1);
  double all = 0.0, high = 0.0;
  for (std::size_t j = 0; j < a.size(); ++j) {
    const double d = std::abs(a[j] - b[j]);
    all += d;
    if (static_cast<int>(j) >= gap.first_high_bin) high += d;
  }
  gap.all_radii = all / static_cast<double>(a.size());
  gap.high_band = high / static_cast<double>(a.size() - gap.first_high_bin);
  return gap;
}

SpectralGap spectral_gap(const std::vector<Image>& set_a, const std::vector<Image>& set_b, int threads, double ratio) {
  return spectral_gap(mean_azimuthal_profile(set_a, threads), mean_azimuthal_profile(set_b, threads), ratio);
}

std::vector<double> mean_log_spectrum(const std::vector<Image>& images, int threads) {
  if (images.empty()) throw ConfigError("mean log spectrum: the image set is empty; give at least one image");
  require_uniform_set(images, "mean log spectrum", "set");
  const std::size_t n = images[0].plane_size();
  std::vector<double> mean(n, 0.0);
  // Chunks bound the memory; summing the chunk's per-image maps in index order keeps the
  // result independent of the thread count.
  const std::size_t chunk = 64;
  std::vector<std::vector<double>> per_image(chunk);
  for (std::size_t start = 0; start < images.size(); start += chunk) {
    const std::size_t count = std::min(chunk, images.size() - start);
    parallel_for(count, threads, [&](std::size_t j) {
      const auto log_amp = log_amplitude(centred_spectrum<double>(images[start + j]));
      std::vector<double> acc(n, 0.0);
      for (std::size_t k = 0; k < log_amp.size(); ++k) acc[k % n] += log_amp[k];
      per_image[j] = std::move(acc);
    });
    for (std::size_t j = 0; j < count; ++j)
      for (std::size_t k = 0; k < n; ++k) mean[k] += per_image[j][k];
  }
  const double denom = static_cast<double>(images.size()) * images[0].channels;
  for (double& v : mean) v /= denom;
  return mean;
}

template Spectrum<float> centred_spectrum<float>(const Image&, FftNorm);
template Spectrum<double> centred_spectrum<double>(const Image&, FftNorm);
template Image inverse_centred_spectrum<float>(const Spectrum<float>&, FftNorm);
template Image inverse_centred_spectrum<double>(const Spectrum<double>&, FftNorm);
template std::vector<Spectrum<float>> centred_spectra<float>(const std::vector<Image>&, int, FftNorm);
template std::vector<Spectrum<double>> centred_spectra<double>(const std::vector<Image>&, int, FftNorm);
template std::vector<float> amplitude<float>(const Spectrum<float>&);
template std::vector<double> amplitude<double>(const Spectrum<double>&);
template std::vector<float> phase<float>(const Spectrum<float>&);
template std::vector<double> phase<double>(const Spectrum<double>&);
template std::vector<float> log_amplitude<float>(const Spectrum<float>&, float);
template std::vector<double> log_amplitude<double>(const Spectrum<double>&, double);

}  // namespace frerec::spectral
