// Drawing helpers for the procedural demo images: a supersampled canvas in normalised
// coordinates ([-1,1]², y down), smooth value noise, soft shapes, and the final 2×2 box
// downsampling that anti-aliases every edge. All arithmetic is per pixel, in a fixed
// order, single-threaded per image: same seed → byte-identical images.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "framework/core/image.h"
#include "framework/core/random.h"

namespace frerec::datasets::demo {

inline double clamp01(double v) { return v < 0 ? 0 : (v > 1 ? 1 : v); }
inline double smoothstep(double e0, double e1, double x) {
  const double t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}
inline double mix(double a, double b, double t) { return a + (b - a) * t; }

// Lattice value noise on [0,1]² with `cells` cells per side, quintic interpolation.
class ValueNoise {
 public:
  ValueNoise(random::Xoshiro256& rng, int cells) : cells_(cells), values_((cells + 1) * (cells + 1)) {
    for (auto& v : values_) v = rng.uniform();
  }
  // u, v in [0,1] (clamped); result in [0,1].
  double operator()(double u, double v) const {
    const double fu = std::min(std::max(u, 0.0), 1.0) * cells_;
    const double fv = std::min(std::max(v, 0.0), 1.0) * cells_;
    const int iu = std::min(static_cast<int>(fu), cells_ - 1);
    const int iv = std::min(static_cast<int>(fv), cells_ - 1);
    const double tu = fade(fu - iu), tv = fade(fv - iv);
    const double a = at(iu, iv), b = at(iu + 1, iv), c = at(iu, iv + 1), d = at(iu + 1, iv + 1);
    return mix(mix(a, b, tu), mix(c, d, tu), tv);
  }

 private:
  static double fade(double t) { return t * t * t * (t * (t * 6 - 15) + 10); }
  double at(int i, int j) const { return values_[j * (cells_ + 1) + i]; }
  int cells_;
  std::vector<double> values_;
};

// Fractal sum of value-noise octaves, normalised to [0,1].
class FractalNoise {
 public:
  FractalNoise(random::Xoshiro256& rng, int base_cells, int octaves) {
    for (int o = 0; o < octaves; ++o) layers_.emplace_back(rng, base_cells << o);
  }
  double operator()(double u, double v) const {
    double sum = 0, weight = 0, w = 1;
    for (const auto& layer : layers_) {
      sum += w * layer(u, v);
      weight += w;
      w *= 0.5;
    }
    return sum / weight;
  }

 private:
  std::vector<ValueNoise> layers_;
};

// A C-plane double canvas of n×n samples over [-1,1]².
class Canvas {
 public:
  Canvas(int channels, int n) : channels_(channels), n_(n), data_(static_cast<std::size_t>(channels) * n * n, 0.0) {}
  int n() const { return n_; }
  int channels() const { return channels_; }
  double x_of(int i) const { return (i + 0.5) * 2.0 / n_ - 1.0; }
  double& at(int c, int j, int i) { return data_[(static_cast<std::size_t>(c) * n_ + j) * n_ + i]; }
  double at(int c, int j, int i) const { return data_[(static_cast<std::size_t>(c) * n_ + j) * n_ + i]; }
  double pixel() const { return 2.0 / n_; }  // one sample's width in normalised units
  // Sample index range [lo, hi) covering normalised [a, b].
  void span(double a, double b, int& lo, int& hi) const {
    lo = std::max(0, static_cast<int>(std::floor((a + 1.0) * n_ / 2.0)));
    hi = std::min(n_, static_cast<int>(std::ceil((b + 1.0) * n_ / 2.0)) + 1);
  }
  // 2×2 box downsampling into an Image (values clamped to [0,1]).
  Image downsample2() const {
    const int m = n_ / 2;
    Image image(channels_, m, m);
    for (int c = 0; c < channels_; ++c)
      for (int j = 0; j < m; ++j)
        for (int i = 0; i < m; ++i) {
          const double v = 0.25 * (at(c, 2 * j, 2 * i) + at(c, 2 * j, 2 * i + 1) + at(c, 2 * j + 1, 2 * i) +
                                   at(c, 2 * j + 1, 2 * i + 1));
          image.at(c, j, i) = static_cast<float>(clamp01(v));
        }
    return image;
  }

 private:
  int channels_, n_;
  std::vector<double> data_;
};

// Anti-aliased coverage of a disc of radius r at distance d (edge softness `soft`).
inline double disc_coverage(double d, double r, double soft) { return clamp01((r - d) / soft + 0.5); }

// Distance from p to the segment a–b.
inline double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
  t = t < 0 ? 0 : (t > 1 ? 1 : t);
  const double ex = px - (ax + t * dx), ey = py - (ay + t * dy);
  return std::sqrt(ex * ex + ey * ey);
}

}  // namespace frerec::datasets::demo
