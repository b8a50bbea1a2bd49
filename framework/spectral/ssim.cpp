#include "framework/spectral/ssim.h"

#include <cmath>

#include "framework/core/error.h"
#include "framework/spectral/validate.h"

namespace frerec::spectral {

SsimWindow parse_ssim_window(const std::string& name, const std::string& component) {
  if (name == "gaussian") return SsimWindow::kGaussian;
  if (name == "uniform") return SsimWindow::kUniform;
  throw ConfigError(component + ": ssim window '" + name + "' is not known; use 'gaussian' or 'uniform'");
}

const char* to_string(SsimWindow window) { return window == SsimWindow::kGaussian ? "gaussian" : "uniform"; }

SsimSettings ssim_settings(SsimWindow window) {
  SsimSettings s;
  if (window == SsimWindow::kGaussian) {
    // scipy.ndimage.gaussian_filter: radius = int(truncate·σ + 0.5) = 5.
    const double sigma = 1.5;
    const int radius = static_cast<int>(3.5 * sigma + 0.5);
    s.size = 2 * radius + 1;
    double sum = 0.0;
    for (int i = -radius; i <= radius; ++i) {
      s.taps.push_back(std::exp(-0.5 * i * i / (sigma * sigma)));
      sum += s.taps.back();
    }
    for (double& t : s.taps) t /= sum;
    s.covariance_norm = 1.0;
  } else {
    s.size = 7;
    s.taps.assign(7, 1.0 / 7.0);
    const double np = 49.0;
    s.covariance_norm = np / (np - 1.0);
  }
  return s;
}

void filter_valid(const double* in, int h, int w, const std::vector<double>& taps, double* tmp, double* out) {
  const int n = static_cast<int>(taps.size());
  const int hv = h - n + 1, wv = w - n + 1;
  for (int y = 0; y < hv; ++y) {  // inner loops over contiguous x
    double* dst = tmp + static_cast<std::size_t>(y) * w;
    for (int x = 0; x < w; ++x) dst[x] = 0.0;
    for (int t = 0; t < n; ++t) {
      const double* src = in + static_cast<std::size_t>(y + t) * w;
      for (int x = 0; x < w; ++x) dst[x] += taps[t] * src[x];
    }
  }
  for (int y = 0; y < hv; ++y) {
    const double* src = tmp + static_cast<std::size_t>(y) * w;
    double* dst = out + static_cast<std::size_t>(y) * wv;
    for (int x = 0; x < wv; ++x) dst[x] = 0.0;
    for (int t = 0; t < n; ++t)
      for (int x = 0; x < wv; ++x) dst[x] += taps[t] * src[x + t];
  }
}

double ssim(const Image& a, const Image& b, SsimWindow window) {
  require_non_empty(a, "ssim", "first", 0);
  require_non_empty(b, "ssim", "second", 1);
  if (!a.same_shape(b)) {
    throw ConfigError("ssim: the images have different shapes " + shape_string(a) + " and " + shape_string(b) +
                      " (CxHxW); compare images of one size and channel count");
  }
  const SsimSettings s = ssim_settings(window);
  if (a.height < s.size || a.width < s.size) {
    throw ConfigError("ssim: image shape " + shape_string(a) + " is smaller than the " + std::to_string(s.size) +
                      "x" + std::to_string(s.size) + " " + to_string(window) + " window; use larger images");
  }
  require_finite(a, "ssim", "first", 0);
  require_finite(b, "ssim", "second", 1);
  const int h = a.height, w = a.width, hv = h - s.size + 1, wv = w - s.size + 1;
  const std::size_t n = a.plane_size(), nv = static_cast<std::size_t>(hv) * wv;
  std::vector<double> x(n), y(n), prod(n), tmp(static_cast<std::size_t>(hv) * w);
  std::vector<double> mx(nv), my(nv), mxx(nv), myy(nv), mxy(nv);
  double total = 0.0;
  for (int c = 0; c < a.channels; ++c) {
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = a.plane(c)[i];
      y[i] = b.plane(c)[i];
    }
    filter_valid(x.data(), h, w, s.taps, tmp.data(), mx.data());
    filter_valid(y.data(), h, w, s.taps, tmp.data(), my.data());
    for (std::size_t i = 0; i < n; ++i) prod[i] = x[i] * x[i];
    filter_valid(prod.data(), h, w, s.taps, tmp.data(), mxx.data());
    for (std::size_t i = 0; i < n; ++i) prod[i] = y[i] * y[i];
    filter_valid(prod.data(), h, w, s.taps, tmp.data(), myy.data());
    for (std::size_t i = 0; i < n; ++i) prod[i] = x[i] * y[i];
    filter_valid(prod.data(), h, w, s.taps, tmp.data(), mxy.data());
    double sum = 0.0;
    for (std::size_t i = 0; i < nv; ++i) {
      const double ux = mx[i], uy = my[i];
      const double vx = s.covariance_norm * (mxx[i] - ux * ux);
      const double vy = s.covariance_norm * (myy[i] - uy * uy);
      const double vxy = s.covariance_norm * (mxy[i] - ux * uy);
      sum += ((2 * ux * uy + SsimSettings::kC1) * (2 * vxy + SsimSettings::kC2)) /
             ((ux * ux + uy * uy + SsimSettings::kC1) * (vx + vy + SsimSettings::kC2));
    }
    total += sum / static_cast<double>(nv);
  }
  return total / a.channels;
}

}  // namespace frerec::spectral
