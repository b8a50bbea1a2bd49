#include <cmath>
#include <vector>

#include "datasets/demo/demo.h"
#include "datasets/demo/draw.h"

namespace frerec::datasets::demo {
namespace {

constexpr double kPi = 3.141592653589793;

struct Segment { double ax, ay, bx, by, width; };

// Grows a vessel from (x, y) in direction `angle`; `bend` curves it (arcades bend around the
// macula); branches get thinner. Bounded depth and length keep the tree finite.
void grow(random::Xoshiro256& rng, double x, double y, double angle, double width, double bend, int depth, double field,
          std::vector<Segment>& out) {
  const double step = 0.035;
  const int steps = static_cast<int>(rng.uniform(8, 22) / (1 + 0.5 * depth));
  for (int s = 0; s < steps; ++s) {
    angle += bend + rng.normal(0, 0.12);
    const double nx = x + step * std::cos(angle), ny = y + step * std::sin(angle);
    if (std::hypot(nx, ny) > field) return;
    out.push_back({x, y, nx, ny, width});
    x = nx;
    y = ny;
    width *= 0.985;
    if (depth < 4 && width > 0.012 && rng.chance(0.16)) {
      const double side = rng.chance(0.5) ? 1.0 : -1.0;
      grow(rng, x, y, angle + side * rng.uniform(0.4, 0.9), width * rng.uniform(0.6, 0.8), bend * 0.5, depth + 1,
           field, out);
      width *= 0.85;
    }
  }
}

struct Lesion { double x, y, r; double dr, dg, db; };  // additive colour at full coverage

}  // namespace

Image render_fundus(int size, std::uint64_t seed, int label) {
  random::Xoshiro256 rng(seed);
  Canvas canvas(3, 2 * size);
  const int n = canvas.n();

  const double field = rng.uniform(0.86, 0.95);  // radius of the visible fundus
  const double side = rng.chance(0.5) ? 1.0 : -1.0;  // left or right eye
  const double base_r = rng.uniform(0.72, 0.92), base_g = rng.uniform(0.28, 0.42), base_b = rng.uniform(0.08, 0.18);
  const double vignette = rng.uniform(0.35, 0.6);
  const double disc_x = side * rng.uniform(0.3, 0.42), disc_y = rng.uniform(-0.06, 0.06);
  const double disc_r = rng.uniform(0.1, 0.13), cup = rng.uniform(0.35, 0.6);
  const double mac_x = disc_x - side * rng.uniform(0.55, 0.68), mac_y = disc_y + rng.uniform(0.0, 0.08);
  const double mac_r = rng.uniform(0.12, 0.17);
  FractalNoise choroid(rng, 8, 3);

  // Vessel tree: four arcades leave the disc (superior/inferior, temporal/nasal).
  std::vector<Segment> vessels;
  const double temporal = side > 0 ? kPi : 0.0;  // towards the macula
  // {start angle, width, bend}: superior/inferior temporal arcades curve around the macula.
  const double bend = rng.uniform(0.03, 0.06);
  const double arcade[4][3] = {{temporal + side * 0.9, 0.03, -side * bend},
                               {temporal - side * 0.9, 0.03, side * bend},
                               {temporal + kPi - 0.7, 0.02, side * bend * 0.3},
                               {temporal + kPi + 0.7, 0.02, -side * bend * 0.3}};
  for (const auto& a : arcade)
    grow(rng, disc_x, disc_y, a[0] + rng.normal(0, 0.12), a[1] * rng.uniform(0.85, 1.15), a[2], 0, field, vessels);
  // Pale drusen-like spots in both classes (distractors), lesions in positives.
  std::vector<Lesion> lesions;
  const int n_drusen = rng.range(0, 4);
  for (int k = 0; k < n_drusen; ++k) {
    const double ang = rng.uniform(0, 2 * kPi), rad = rng.uniform(0.1, 0.7) * field;
    lesions.push_back({rad * std::cos(ang), rad * std::sin(ang), rng.uniform(0.5, 0.9) * 2.0 / 64, 0.06, 0.06, 0.02});
  }
  if (label == 1) {
    // How visible this image's lesions are (version 3): the faintest are near the noise.
    const double strength = rng.uniform(0.5, 1.0);
    const int n_ma = rng.range(0, 4), n_haem = rng.range(0, 2), n_exudate = rng.range(0, 3);
    const int total = n_ma + n_haem + n_exudate;
    const int extra_ma = total == 0 ? 1 : 0;
    auto spot_near_macula = [&](double spread) {
      const double ang = rng.uniform(0, 2 * kPi), rad = std::fabs(rng.normal(0, spread));
      return std::pair<double, double>{mac_x + rad * std::cos(ang), mac_y + rad * std::sin(ang)};
    };
    for (int k = 0; k < n_ma + extra_ma; ++k) {  // microaneurysms: tiny dark red dots
      auto [x, y] = spot_near_macula(0.3);
      lesions.push_back({x, y, rng.uniform(0.5, 0.8) * 2.0 / 64, -0.22 * strength, -0.14 * strength, -0.05 * strength});
    }
    for (int k = 0; k < n_haem; ++k) {  // blot haemorrhages: larger, darker
      auto [x, y] = spot_near_macula(0.35);
      lesions.push_back({x, y, rng.uniform(0.9, 1.6) * 2.0 / 64, -0.26 * strength, -0.16 * strength, -0.05 * strength});
    }
    for (int k = 0; k < n_exudate; ++k) {  // hard exudates: small yellow-white flecks
      auto [x, y] = spot_near_macula(0.25);
      lesions.push_back({x, y, rng.uniform(0.5, 0.9) * 2.0 / 64, 0.12 * strength, 0.2 * strength, 0.04 * strength});
    }
  }

  // Background, vignetting, choroidal texture, disc, macula.
  for (int j = 0; j < n; ++j) {
    const double y = canvas.x_of(j);
    for (int i = 0; i < n; ++i) {
      const double x = canvas.x_of(i);
      const double r = std::hypot(x, y);
      const double texture = 1.0 + 0.12 * (choroid(0.5 + 0.5 * x, 0.5 + 0.5 * y) - 0.5);
      const double light = (1.0 - vignette * std::pow(std::min(r / field, 1.0), 2.5)) * texture;
      double cr = base_r * light, cg = base_g * light, cb = base_b * light;
      const double disc = disc_coverage(std::hypot(x - disc_x, y - disc_y), disc_r, 0.03);
      const double cupm = disc_coverage(std::hypot(x - disc_x, y - disc_y), disc_r * cup, 0.03);
      cr = mix(cr, 0.98, disc * 0.85);
      cg = mix(cg, 0.78 + 0.12 * cupm, disc * 0.85);
      cb = mix(cb, 0.45 + 0.3 * cupm, disc * 0.85);
      const double macula = std::exp(-std::pow(std::hypot(x - mac_x, y - mac_y) / mac_r, 2));
      cr *= 1.0 - 0.25 * macula;
      cg *= 1.0 - 0.35 * macula;
      cb *= 1.0 - 0.3 * macula;
      const double inside = disc_coverage(r, field, 0.01);
      canvas.at(0, j, i) = cr * inside;
      canvas.at(1, j, i) = cg * inside;
      canvas.at(2, j, i) = cb * inside;
    }
  }
  // Vessels: darken with anti-aliased coverage (max over overlapping segments).
  std::vector<double> coverage(static_cast<std::size_t>(n) * n, 0.0);
  for (const Segment& s : vessels) {
    int i0, i1, j0, j1;
    canvas.span(std::min(s.ax, s.bx) - s.width, std::max(s.ax, s.bx) + s.width, i0, i1);
    canvas.span(std::min(s.ay, s.by) - s.width, std::max(s.ay, s.by) + s.width, j0, j1);
    for (int j = j0; j < j1; ++j)
      for (int i = i0; i < i1; ++i) {
        const double d = segment_distance(canvas.x_of(i), canvas.x_of(j), s.ax, s.ay, s.bx, s.by);
        double& c = coverage[static_cast<std::size_t>(j) * n + i];
        c = std::max(c, disc_coverage(d, 0.5 * s.width, canvas.pixel()));
      }
  }
  const double vessel_dark[3] = {0.68, 0.45, 0.6};
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) {
      const double c = coverage[static_cast<std::size_t>(j) * n + i];
      for (int k = 0; k < 3; ++k) canvas.at(k, j, i) *= 1.0 - c * (1.0 - vessel_dark[k]);
    }
  for (const Lesion& l : lesions) {
    int i0, i1, j0, j1;
    canvas.span(l.x - 2 * l.r, l.x + 2 * l.r, i0, i1);
    canvas.span(l.y - 2 * l.r, l.y + 2 * l.r, j0, j1);
    for (int j = j0; j < j1; ++j)
      for (int i = i0; i < i1; ++i) {
        const double x = canvas.x_of(i), y = canvas.x_of(j);
        if (std::hypot(x, y) > field) continue;
        const double c = disc_coverage(std::hypot(x - l.x, y - l.y), l.r, canvas.pixel());
        canvas.at(0, j, i) += c * l.dr;
        canvas.at(1, j, i) += c * l.dg;
        canvas.at(2, j, i) += c * l.db;
      }
  }
  Image image = canvas.downsample2();

  // Camera: per-channel gain (colour cast), exposure, sensor noise inside the field.
  const double gains[3] = {rng.normal(1.0, 0.06), rng.normal(1.0, 0.08), rng.normal(1.0, 0.1)};
  const double exposure = rng.uniform(0.85, 1.12);
  const double sigma = rng.uniform(0.006, 0.02);
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < size; ++j)
      for (int i = 0; i < size; ++i) {
        const double x = (i + 0.5) * 2.0 / size - 1.0, y = (j + 0.5) * 2.0 / size - 1.0;
        double value = image.at(k, j, i) * gains[k] * exposure;
        if (std::hypot(x, y) < field) value += sigma * rng.normal();
        image.at(k, j, i) = static_cast<float>(clamp01(value));
      }
  return image;
}

}  // namespace frerec::datasets::demo
