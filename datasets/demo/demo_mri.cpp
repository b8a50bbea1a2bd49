#include <cmath>

#include "datasets/demo/demo.h"
#include "datasets/demo/draw.h"

namespace frerec::datasets::demo {

Image render_mri(int size, std::uint64_t seed, int label) {
  random::Xoshiro256 rng(seed);
  Canvas canvas(1, 2 * size);
  const int n = canvas.n();

  // Head geometry.
  const double cx = rng.normal(0, 0.03), cy = rng.normal(0, 0.03);
  const double a = rng.uniform(0.70, 0.82), b = rng.uniform(0.82, 0.93);
  const double rot = rng.uniform(-0.15, 0.15);
  const double cr = std::cos(rot), sr = std::sin(rot);
  ValueNoise outline(rng, 6);
  FractalNoise gyri(rng, 5, 2);
  FractalNoise white_matter(rng, 3, 2);
  FractalNoise tissue(rng, 12, 2);
  const double ventricle_scale = rng.uniform(0.7, 1.35);
  const double ventricle_y = rng.uniform(-0.12, 0.0);
  const double gm = rng.uniform(0.38, 0.46), wm = gm + rng.uniform(0.12, 0.2);
  const double scalp = rng.uniform(0.6, 0.8);
  const double sulcus_width = rng.uniform(0.035, 0.055);

  // Lesion (positives) and look-alike small vessels (both classes).
  struct Spot { double x, y, r, v; };
  std::vector<Spot> vessels;
  const int n_vessels = rng.range(0, 4);
  for (int k = 0; k < n_vessels; ++k) {
    const double ang = rng.uniform(0, 6.283185307179586), rad = rng.uniform(0.1, 0.55);
    vessels.push_back({cx + a * rad * std::cos(ang), cy + b * rad * std::sin(ang), rng.uniform(0.6, 1.1) * 2.0 / 64.0,
                       rng.uniform(0.12, 0.3)});
  }
  bool lesion = label == 1;
  double lx = 0, ly = 0, lr = 0, strength = 0;
  if (lesion) {
    const double ang = rng.uniform(0, 6.283185307179586), rad = rng.uniform(0.15, 0.55);
    lx = cx + a * rad * std::cos(ang);
    ly = cy + b * rad * std::sin(ang);
    lr = rng.uniform(2.0, 3.6) * 2.0 / 64.0;  // radius in normalised units (2.0–3.6 px at 64)
    strength = rng.uniform(0.1, 1.0);
  }

  for (int j = 0; j < n; ++j) {
    const double y = canvas.x_of(j);
    for (int i = 0; i < n; ++i) {
      const double x = canvas.x_of(i);
      const double dx = x - cx, dy = y - cy;
      const double xr = cr * dx + sr * dy, yr = -sr * dx + cr * dy;
      const double angle = std::atan2(yr, xr);
      const double wobble = 1.0 + 0.035 * (outline(0.5 + 0.5 * std::cos(angle), 0.5 + 0.5 * std::sin(angle)) - 0.5);
      const double r = std::sqrt((xr / a) * (xr / a) + (yr / b) * (yr / b)) / wobble;
      const double u = 0.5 + 0.5 * x, v = 0.5 + 0.5 * y;
      double value = 0.0;
      if (r < 1.0) {
        // Scalp (bright), skull (dark), CSF rim, brain.
        value = mix(0.12, scalp, smoothstep(0.91, 0.94, r));
        value = mix(value, 0.22, 1.0 - smoothstep(0.86, 0.88, r));
        if (r < 0.87) {
          const double wm_extent = 0.55 + 0.18 * (white_matter(u, v) - 0.5);
          double brain = mix(wm, gm, smoothstep(wm_extent - 0.06, wm_extent + 0.06, r));
          // Sulci: dark CSF along iso-lines of the gyri noise, in the cortex.
          const double g = 0.5 + 3.0 * (gyri(u, v) - 0.5);
          const double sulcus = 1.0 - smoothstep(0.0, sulcus_width * 3.0, std::fabs(std::fmod(g * 3.0 + 10.0, 1.0) - 0.5));
          brain = mix(brain, 0.2, sulcus * smoothstep(wm_extent - 0.12, wm_extent + 0.08, r) * 0.8);
          brain += 0.05 * (tissue(u, v) - 0.5);
          value = mix(brain, 0.22, smoothstep(0.82, 0.85, r));
          // Ventricles: two tilted ellipses (butterfly).
          for (int side = -1; side <= 1; side += 2) {
            const double vx = xr - side * 0.1 * ventricle_scale, vy = yr - ventricle_y;
            const double t = side * 0.35;
            const double ex = std::cos(t) * vx + std::sin(t) * vy, ey = -std::sin(t) * vx + std::cos(t) * vy;
            const double q = std::sqrt((ex / (0.055 * ventricle_scale)) * (ex / (0.055 * ventricle_scale)) +
                                       (ey / (0.2 * ventricle_scale)) * (ey / (0.2 * ventricle_scale)));
            value = mix(value, 0.14, 1.0 - smoothstep(0.85, 1.05, q));
          }
          for (const Spot& s : vessels) {
            const double d = std::hypot(x - s.x, y - s.y);
            value += s.v * disc_coverage(d, s.r, canvas.pixel());
          }
          if (lesion) {
            const double d = std::hypot(x - lx, y - ly);
            // Oedema: darker halo out to 2.6 radii; necrotic core; bright enhancing rim.
            value -= strength * 0.12 * (1.0 - smoothstep(lr, 2.6 * lr, d));
            value -= strength * 0.12 * disc_coverage(d, 0.6 * lr, canvas.pixel());
            const double rim = 1.0 - smoothstep(0.0, 0.35 * lr, std::fabs(d - 0.85 * lr));
            value += strength * 0.45 * rim;
          }
        }
      }
      canvas.at(0, j, i) = value;
    }
  }
  Image image = canvas.downsample2();

  // Bias field, global gain, Rician noise (magnitude of complex Gaussian noise).
  const double b1 = rng.normal(0, 0.12), b2 = rng.normal(0, 0.12), b3 = rng.normal(0, 0.08);
  const double gain = rng.uniform(0.85, 1.1);
  const double sigma = rng.uniform(0.015, 0.045);
  for (int j = 0; j < size; ++j) {
    for (int i = 0; i < size; ++i) {
      const double x = (i + 0.5) * 2.0 / size - 1.0, y = (j + 0.5) * 2.0 / size - 1.0;
      const double field = std::exp(b1 * x + b2 * y + b3 * x * y);
      const double clean = image.at(0, j, i) * field * gain;
      const double re = clean + sigma * rng.normal(), im = sigma * rng.normal();
      image.at(0, j, i) = static_cast<float>(clamp01(std::sqrt(re * re + im * im)));
    }
  }
  return image;
}

}  // namespace frerec::datasets::demo
