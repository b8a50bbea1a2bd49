#include <cmath>

#include "datasets/demo/demo.h"
#include "datasets/demo/draw.h"

namespace frerec::datasets::demo {

Image render_cxr(int size, std::uint64_t seed, int label) {
  random::Xoshiro256 rng(seed);
  Canvas canvas(1, 2 * size);
  const int n = canvas.n();

  // Thorax: half-width tw around x0; lungs from apex ya to diaphragm yd.
  const double x0 = rng.normal(0, 0.025);
  const double tw = rng.uniform(0.62, 0.76);
  const double ya = rng.uniform(-0.78, -0.66), yd = rng.uniform(0.38, 0.55);
  const double body = rng.uniform(0.86, 0.97);  // half-width of the soft-tissue silhouette
  const double soft = rng.uniform(0.42, 0.52), lung = rng.uniform(0.12, 0.2), bone = rng.uniform(0.1, 0.16);
  // Cardiothoracic ratio: heart width / thorax width.
  const double ctr = label == 1 ? rng.uniform(0.46, 0.60) : rng.uniform(0.38, 0.52);
  const double hw = ctr * tw;                                // heart half-width
  const double hx = x0 + rng.uniform(0.06, 0.12) * tw;       // heart centre, shifted to the patient's left
  const double hy = yd - rng.uniform(0.2, 0.28);
  const double hh = rng.uniform(0.24, 0.3);
  const double heart_density = rng.uniform(0.22, 0.3);
  const double rib_gap = rng.uniform(0.13, 0.16), rib_tilt = rng.uniform(0.25, 0.4);
  const double rib_phase = rng.uniform(0, rib_gap);
  FractalNoise markings(rng, 10, 3);
  ValueNoise lung_shape(rng, 4);

  for (int j = 0; j < n; ++j) {
    const double y = canvas.x_of(j);
    for (int i = 0; i < n; ++i) {
      const double x = canvas.x_of(i);
      const double u = 0.5 + 0.5 * x, v = 0.5 + 0.5 * y;
      const double ax = std::fabs(x - x0);
      // Soft-tissue silhouette (shoulders slope above the apex).
      const double shoulder = body - 0.25 * smoothstep(ya + 0.1, -1.0, y);
      double value = 0.04 + soft * (1.0 - smoothstep(shoulder - 0.03, shoulder + 0.03, ax));
      // Lungs: rounded regions between the mediastinum and the lateral chest wall.
      const double mediastinum = 0.1 + 0.04 * (y - ya);
      const double lateral = tw * (0.82 + 0.18 * smoothstep(ya, ya + 0.5, y)) + 0.03 * (lung_shape(u, v) - 0.5);
      const double apex = ya + 0.25 * smoothstep(lateral * 0.5, lateral, ax);
      const double dome = yd - 0.12 * (1.0 - std::pow((ax - mediastinum) / std::max(lateral - mediastinum, 1e-3) - 0.5, 2) * 4);
      const double inside = smoothstep(mediastinum, mediastinum + 0.04, ax) *
                            (1.0 - smoothstep(lateral - 0.04, lateral, ax)) * smoothstep(apex, apex + 0.06, y) *
                            (1.0 - smoothstep(dome - 0.03, dome + 0.02, y));
      const double lung_value = lung + 0.09 * (markings(u, v) - 0.5) + 0.05 * smoothstep(0.0, tw, mediastinum + 0.2 - ax);
      value = mix(value, lung_value, inside);
      // Heart: an ellipse overlapping the lungs, denser than air.
      const double q = std::hypot((x - hx) / hw, (y - hy) / hh);
      const double heart = 1.0 - smoothstep(0.92, 1.04, q);
      value = mix(value, std::max(value, soft * 0.85) + heart_density * 0.3, heart * (y < yd + 0.05 ? 1.0 : 0.4));
      // Spine: a bright column with vertebral banding.
      const double spine = 1.0 - smoothstep(0.06, 0.085, ax);
      value += spine * (0.12 + 0.04 * std::cos(y * 40.0));
      // Posterior ribs: arcs descending laterally, inside the chest wall.
      if (ax > 0.07 && ax < lateral + 0.04) {
        const double yy = y - rib_tilt * ax * ax - 0.15 * ax + rib_phase;
        const double k = std::round(yy / rib_gap);
        const double dist = std::fabs(yy - k * rib_gap);
        if (k * rib_gap + 0.0 > ya - 0.05 && k * rib_gap < yd + 0.1)
          value += bone * (1.0 - smoothstep(0.012, 0.022, dist));
      }
      // Clavicles.
      const double clav = std::fabs(y - (ya + 0.02 + 0.18 * (ax - 0.1) * (ax - 0.1)));
      if (ax > 0.08 && ax < 0.6) value += bone * 0.9 * (1.0 - smoothstep(0.018, 0.03, clav));
      canvas.at(0, j, i) = value;
    }
  }
  Image image = canvas.downsample2();

  // Exposure gradient, gamma, Poisson-like quantum noise (variance ∝ signal).
  const double gx = rng.normal(0, 0.06), gy = rng.normal(0, 0.06);
  const double gamma = rng.uniform(0.85, 1.15);
  const double photons = rng.uniform(150, 500);
  for (int j = 0; j < size; ++j) {
    for (int i = 0; i < size; ++i) {
      const double x = (i + 0.5) * 2.0 / size - 1.0, y = (j + 0.5) * 2.0 / size - 1.0;
      double value = std::pow(clamp01(image.at(0, j, i) * (1.0 + gx * x + gy * y)), gamma);
      value += std::sqrt((value + 0.01) / photons) * rng.normal();
      image.at(0, j, i) = static_cast<float>(clamp01(value));
    }
  }
  return image;
}

}  // namespace frerec::datasets::demo
