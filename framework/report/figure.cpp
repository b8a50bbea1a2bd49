#include "framework/report/figure.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"

namespace frerec::report {
namespace {

constexpr double kMarginLeft = 62, kMarginRight = 18, kMarginTop = 30, kMarginBottom = 46;
constexpr double kColorbarWidth = 70;

struct Box {
  double x, y, w, h;
};

void set_color(cairo_t* cr, const Rgb& c, double alpha = 1.0) { cairo_set_source_rgba(cr, c[0], c[1], c[2], alpha); }

void text_at(cairo_t* cr, const std::string& text, double x, double y, double size, double align_x = 0.0,
             double align_y = 0.0, bool bold = false, double angle = 0.0) {
  cairo_save(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -ext.width * align_x - ext.x_bearing, ext.height * align_y);
  cairo_show_text(cr, text.c_str());
  cairo_restore(cr);
}

std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  std::vector<double> ticks;
  if (!(hi > lo)) {
    ticks.push_back(lo);
    return ticks;
  }
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string tick_label(double v) {
  if (v != 0 && (std::fabs(v) >= 1e4 || std::fabs(v) < 1e-3)) return fmt::format("{:.1e}", v);
  std::string s = fmt::format("{:.3f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// Ticks of a base-2 axis (values are log2 of the data): every power of two in range, or every
// second/fourth... one when the range spans many octaves.
std::vector<double> octave_ticks(double lo, double hi) {
  const double span = hi - lo;
  const double step = span > 16 ? 4.0 : span > 8 ? 2.0 : 1.0;
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push_back(t);
  if (ticks.empty()) ticks.push_back(lo);
  return ticks;
}

// x_ticks: in axis units (log2 of the data when log_x); empty: automatic ticks.
void draw_axes(cairo_t* cr, const Box& plot, double x0, double x1, double y0, double y1, const std::string& x_label,
               const std::string& y_label, bool log_y, bool log_x = false, const std::vector<double>& x_ticks = {}) {
  cairo_set_line_width(cr, 1.0);
  set_color(cr, {0.2, 0.2, 0.2});
  cairo_rectangle(cr, plot.x, plot.y, plot.w, plot.h);
  cairo_stroke(cr);
  auto map_x = [&](double v) { return plot.x + (v - x0) / (x1 - x0) * plot.w; };
  auto map_y = [&](double v) { return plot.y + plot.h - (v - y0) / (y1 - y0) * plot.h; };
  for (double t : !x_ticks.empty() ? x_ticks : log_x ? octave_ticks(x0, x1) : nice_ticks(x0, x1)) {
    const double px = map_x(t);
    cairo_move_to(cr, px, plot.y + plot.h);
    cairo_line_to(cr, px, plot.y + plot.h + 4);
    cairo_stroke(cr);
    text_at(cr, log_x ? tick_label(std::exp2(t)) : tick_label(t), px, plot.y + plot.h + 16, 10, 0.5);
  }
  for (double t : nice_ticks(y0, y1)) {
    const double py = map_y(t);
    cairo_move_to(cr, plot.x - 4, py);
    cairo_line_to(cr, plot.x, py);
    cairo_stroke(cr);
    text_at(cr, log_y ? tick_label(std::pow(10.0, t)) : tick_label(t), plot.x - 6, py, 10, 1.0, 0.5);
  }
  if (!x_label.empty()) text_at(cr, x_label, plot.x + plot.w / 2, plot.y + plot.h + 34, 11, 0.5);
  if (!y_label.empty()) text_at(cr, y_label, plot.x - 48, plot.y + plot.h / 2, 11, 0.5, 0.0, false, -M_PI / 2);
}

void data_range(const std::vector<double>& values, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (double v : values)
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi == lo) {
    lo -= 0.5;
    hi += 0.5;
  }
}

void pad_range(double& lo, double& hi) {
  const double pad = (hi - lo) * 0.04;
  lo -= pad;
  hi += pad;
}

void draw_heatmap(cairo_t* cr, const Box& box, const Heatmap& map) {
  if (map.rows <= 0 || map.cols <= 0 || map.values.size() != static_cast<std::size_t>(map.rows) * map.cols)
    throw InternalError(fmt::format("figure: heatmap '{}' has {} values for {}x{}", map.title, map.values.size(), map.rows, map.cols));
  double lo, hi;
  data_range(map.values, lo, hi);
  if (map.diverging) {
    const double m = std::max(std::fabs(lo), std::fabs(hi));
    lo = -m;
    hi = m;
  }
  if (map.vmin) lo = *map.vmin;
  if (map.vmax) hi = *map.vmax;
  const double side = std::min(box.w - kColorbarWidth - 20, box.h - kMarginTop - 16);
  const Box plot{box.x + 14, box.y + kMarginTop, side, side * map.rows / std::max(map.rows, map.cols)};
  const Box image{plot.x, plot.y, side * map.cols / std::max(map.rows, map.cols), plot.h};
  // Draw through an image surface scaled with nearest filtering: crisp pixels in PNG and SVG.
  cairo_surface_t* cells = cairo_image_surface_create(CAIRO_FORMAT_RGB24, map.cols, map.rows);
  unsigned char* data = cairo_image_surface_get_data(cells);
  const int stride = cairo_image_surface_get_stride(cells);
  for (int r = 0; r < map.rows; ++r)
    for (int c = 0; c < map.cols; ++c) {
      const double v = map.values[static_cast<std::size_t>(r) * map.cols + c];
      Rgb color = map.diverging ? diverging_color(std::clamp(v / (hi == 0 ? 1 : hi), -1.0, 1.0))
                                : viridis(std::clamp((v - lo) / (hi - lo), 0.0, 1.0));
      if (!std::isfinite(v)) color = {0.5, 0.5, 0.5};
      auto* px = reinterpret_cast<std::uint32_t*>(data + r * stride) + c;
      *px = (static_cast<std::uint32_t>(color[0] * 255) << 16) | (static_cast<std::uint32_t>(color[1] * 255) << 8) |
            static_cast<std::uint32_t>(color[2] * 255);
    }
  cairo_surface_mark_dirty(cells);
  cairo_save(cr);
  cairo_translate(cr, image.x, image.y);
  cairo_scale(cr, image.w / map.cols, image.h / map.rows);
  cairo_set_source_surface(cr, cells, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(cells);
  // Colour bar.
  const Box bar{image.x + image.w + 14, plot.y, 14, plot.h};
  for (int i = 0; i < 100; ++i) {
    const double t = i / 99.0;
    set_color(cr, map.diverging ? diverging_color(2 * t - 1) : viridis(t));
    cairo_rectangle(cr, bar.x, bar.y + bar.h * (1 - (i + 1) / 100.0), bar.w, bar.h / 100.0 + 0.5);
    cairo_fill(cr);
  }
  set_color(cr, {0.2, 0.2, 0.2});
  cairo_set_line_width(cr, 1.0);
  cairo_rectangle(cr, bar.x, bar.y, bar.w, bar.h);
  cairo_stroke(cr);
  for (double t : nice_ticks(lo, hi, 4)) {
    const double py = bar.y + bar.h - (t - lo) / (hi - lo) * bar.h;
    cairo_move_to(cr, bar.x + bar.w, py);
    cairo_line_to(cr, bar.x + bar.w + 3, py);
    cairo_stroke(cr);
    text_at(cr, tick_label(t), bar.x + bar.w + 5, py, 9, 0.0, 0.5);
  }
  if (!map.colorbar_label.empty())
    text_at(cr, map.colorbar_label, bar.x + bar.w + 52, bar.y + bar.h / 2, 10, 0.5, 0.0, false, -M_PI / 2);
  text_at(cr, map.title, box.x + box.w / 2, box.y + 18, 12, 0.5, 0.0, true);
}

void draw_legend(cairo_t* cr, const Box& plot, const std::vector<std::pair<std::string, Rgb>>& entries, bool points) {
  if (entries.empty()) return;
  double y = plot.y + 8;
  const double x = plot.x + plot.w - 8;
  double width = 0;
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 10);
  for (const auto& [label, _] : entries) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, label.c_str(), &ext);
    width = std::max(width, ext.x_advance);
  }
  set_color(cr, {1, 1, 1}, 0.85);
  cairo_rectangle(cr, x - width - 34, y - 4, width + 30, 15.0 * entries.size() + 6);
  cairo_fill(cr);
  for (const auto& [label, color] : entries) {
    set_color(cr, color);
    if (points) {
      cairo_arc(cr, x - width - 20, y + 6, 3.5, 0, 2 * M_PI);
      cairo_fill(cr);
    } else {
      cairo_set_line_width(cr, 2.0);
      cairo_move_to(cr, x - width - 28, y + 6);
      cairo_line_to(cr, x - width - 12, y + 6);
      cairo_stroke(cr);
    }
    set_color(cr, {0.1, 0.1, 0.1});
    text_at(cr, label, x - width - 8, y + 6, 10, 0.0, 0.5);
    y += 15;
  }
}

void draw_lines(cairo_t* cr, const Box& box, const LinePlot& plot_spec) {
  std::vector<double> xs, ys;
  auto to_axis = [&](double v) { return plot_spec.log_y ? (v > 0 ? std::log10(v) : NAN) : v; };
  auto to_x_axis = [&](double v) { return plot_spec.log_x ? (v > 0 ? std::log2(v) : NAN) : v; };
  auto band_at = [](const LineSeries& s, std::size_t k) { return k < s.spread.size() && std::isfinite(s.spread[k]) ? s.spread[k] : 0.0; };
  for (const auto& s : plot_spec.series) {
    for (double x : s.x) xs.push_back(to_x_axis(x));
    for (std::size_t k = 0; k < s.y.size(); ++k) {
      ys.push_back(to_axis(s.y[k]));
      if (band_at(s, k) > 0) {
        ys.push_back(to_axis(s.y[k] - band_at(s, k)));
        ys.push_back(to_axis(s.y[k] + band_at(s, k)));
      }
    }
  }
  double x0, x1, y0, y1;
  data_range(xs, x0, x1);
  data_range(ys, y0, y1);
  pad_range(y0, y1);
  // A base-2 axis of a few measured budgets: a quarter octave either side, so the first and
  // last points (and their dots) are not cut by the frame.
  if (plot_spec.log_x) {
    x0 -= 0.25;
    x1 += 0.25;
  }
  std::vector<double> x_ticks;
  for (double t : plot_spec.x_ticks)
    if (std::isfinite(to_x_axis(t)) && to_x_axis(t) >= x0 && to_x_axis(t) <= x1) x_ticks.push_back(to_x_axis(t));
  const Box plot{box.x + kMarginLeft, box.y + kMarginTop, box.w - kMarginLeft - kMarginRight,
                 box.h - kMarginTop - kMarginBottom};
  draw_axes(cr, plot, x0, x1, y0, y1, plot_spec.x_label, plot_spec.y_label, plot_spec.log_y, plot_spec.log_x,
            x_ticks);
  cairo_save(cr);
  cairo_rectangle(cr, plot.x, plot.y, plot.w, plot.h);
  cairo_clip(cr);
  std::vector<std::pair<std::string, Rgb>> legend;
  for (std::size_t i = 0; i < plot_spec.series.size(); ++i) {
    const auto& s = plot_spec.series[i];
    const Rgb color = s.color.value_or(palette_color(i));
    auto to_px = [&](double x) { return plot.x + (to_x_axis(x) - x0) / (x1 - x0) * plot.w; };
    auto to_py = [&](double v) { return plot.y + plot.h - (to_axis(v) - y0) / (y1 - y0) * plot.h; };
    if (!s.spread.empty()) {  // the band: upper edge forward, lower edge back
      const std::size_t n = std::min(s.x.size(), s.y.size());
      std::vector<std::size_t> points;
      for (std::size_t k = 0; k < n; ++k)
        if (std::isfinite(to_x_axis(s.x[k])) && std::isfinite(to_axis(s.y[k] + band_at(s, k))) &&
            std::isfinite(to_axis(s.y[k] - band_at(s, k))))
          points.push_back(k);
      if (points.size() >= 2) {
        for (std::size_t j = 0; j < points.size(); ++j) {
          const std::size_t k = points[j];
          (j == 0 ? cairo_move_to : cairo_line_to)(cr, to_px(s.x[k]), to_py(s.y[k] + band_at(s, k)));
        }
        for (std::size_t j = points.size(); j-- > 0;) {
          const std::size_t k = points[j];
          cairo_line_to(cr, to_px(s.x[k]), to_py(s.y[k] - band_at(s, k)));
        }
        cairo_close_path(cr);
        set_color(cr, color, 0.2);
        cairo_fill(cr);
      }
    }
    set_color(cr, color);
    cairo_set_line_width(cr, 1.8);
    if (s.dashed) {
      const double dashes[] = {6.0, 3.0};
      cairo_set_dash(cr, dashes, 2, 0);
    } else {
      cairo_set_dash(cr, nullptr, 0, 0);
    }
    bool pen_down = false;
    for (std::size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
      const double yv = to_axis(s.y[k]);
      if (!std::isfinite(yv) || !std::isfinite(to_x_axis(s.x[k]))) {
        pen_down = false;
        continue;
      }
      const double px = to_px(s.x[k]);
      const double py = plot.y + plot.h - (yv - y0) / (y1 - y0) * plot.h;
      if (pen_down)
        cairo_line_to(cr, px, py);
      else
        cairo_move_to(cr, px, py);
      pen_down = true;
    }
    cairo_stroke(cr);
    if (s.markers)
      for (std::size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
        if (!std::isfinite(to_axis(s.y[k])) || !std::isfinite(to_x_axis(s.x[k]))) continue;
        cairo_arc(cr, to_px(s.x[k]), to_py(s.y[k]), 3.0, 0, 2 * M_PI);
        cairo_fill(cr);
      }
    if (!s.label.empty()) legend.emplace_back(s.label, color);
  }
  cairo_set_dash(cr, nullptr, 0, 0);
  cairo_restore(cr);
  draw_legend(cr, plot, legend, false);
  text_at(cr, plot_spec.title, box.x + box.w / 2, box.y + 18, 12, 0.5, 0.0, true);
}

void draw_scatter(cairo_t* cr, const Box& box, const ScatterPlot& spec) {
  std::vector<double> xs, ys;
  for (const auto& s : spec.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  double x0, x1, y0, y1;
  data_range(xs, x0, x1);
  data_range(ys, y0, y1);
  pad_range(x0, x1);
  pad_range(y0, y1);
  const Box plot{box.x + kMarginLeft, box.y + kMarginTop, box.w - kMarginLeft - kMarginRight,
                 box.h - kMarginTop - kMarginBottom};
  draw_axes(cr, plot, x0, x1, y0, y1, spec.x_label, spec.y_label, false);
  std::vector<std::pair<std::string, Rgb>> legend;
  for (std::size_t i = 0; i < spec.series.size(); ++i) {
    const auto& s = spec.series[i];
    const Rgb color = s.color.value_or(palette_color(i));
    set_color(cr, color, 0.7);
    for (std::size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
      cairo_arc(cr, plot.x + (s.x[k] - x0) / (x1 - x0) * plot.w, plot.y + plot.h - (s.y[k] - y0) / (y1 - y0) * plot.h,
                s.radius, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    if (!s.label.empty()) legend.emplace_back(s.label, color);
  }
  draw_legend(cr, plot, legend, true);
  text_at(cr, spec.title, box.x + box.w / 2, box.y + 18, 12, 0.5, 0.0, true);
}

void draw_figure(cairo_t* cr, const Figure& figure, int width, int height, int columns) {
  set_color(cr, {1, 1, 1});
  cairo_paint(cr);
  const double title_height = figure.title.empty() ? 0 : 28;
  if (!figure.title.empty()) {
    set_color(cr, {0.05, 0.05, 0.05});
    text_at(cr, figure.title, width / 2.0, 19, 14, 0.5, 0.0, true);
  }
  for (std::size_t i = 0; i < figure.panels.size(); ++i) {
    const int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    const Box box{static_cast<double>(c * figure.panel_width), title_height + r * figure.panel_height,
                  static_cast<double>(figure.panel_width), static_cast<double>(figure.panel_height)};
    set_color(cr, {0.1, 0.1, 0.1});
    std::visit(
        [&](const auto& panel) {
          using T = std::decay_t<decltype(panel)>;
          if constexpr (std::is_same_v<T, Heatmap>)
            draw_heatmap(cr, box, panel);
          else if constexpr (std::is_same_v<T, LinePlot>)
            draw_lines(cr, box, panel);
          else
            draw_scatter(cr, box, panel);
        },
        figure.panels[i]);
  }
  (void)height;
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// Width, height and panel columns of a figure.
std::array<int, 3> layout(const Figure& figure) {
  const int columns = figure.columns > 0 ? figure.columns : static_cast<int>(figure.panels.size());
  const int rows = (static_cast<int>(figure.panels.size()) + columns - 1) / columns;
  return {columns * figure.panel_width, rows * figure.panel_height + (figure.title.empty() ? 0 : 28), columns};
}

}  // namespace

Rgb palette_color(std::size_t index) {
  static const Rgb colors[] = {{0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173},
                               {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
                               {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}, {0.737, 0.741, 0.133},
                               {0.090, 0.745, 0.812}};
  return colors[index % 10];
}

Rgb viridis(double t) {
  // Anchor points of matplotlib's viridis at t = 0, 0.125, ..., 1, linearly interpolated.
  static const Rgb anchors[] = {{0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.254, 0.265, 0.530},
                                {0.207, 0.372, 0.553}, {0.164, 0.471, 0.558}, {0.128, 0.567, 0.551},
                                {0.135, 0.659, 0.518}, {0.267, 0.749, 0.441}, {0.478, 0.821, 0.318},
                                {0.741, 0.873, 0.150}, {0.993, 0.906, 0.144}};
  t = std::clamp(t, 0.0, 1.0) * 10.0;
  const int i = std::min(9, static_cast<int>(t));
  const double f = t - i;
  Rgb out;
  for (int k = 0; k < 3; ++k) out[k] = anchors[i][k] * (1 - f) + anchors[i + 1][k] * f;
  return out;
}

Rgb diverging_color(double t) {
  t = std::clamp(t, -1.0, 1.0);
  const Rgb blue{0.230, 0.299, 0.754}, white{0.97, 0.97, 0.97}, red{0.706, 0.016, 0.150};
  const Rgb& end = t < 0 ? blue : red;
  const double f = std::fabs(t);
  return {white[0] * (1 - f) + end[0] * f, white[1] * (1 - f) + end[1] * f, white[2] * (1 - f) + end[2] * f};
}

std::pair<int, int> save_figure(const Figure& figure, const std::filesystem::path& stem) {
  if (figure.panels.empty()) throw InternalError("figure: '" + figure.title + "' has no panels");
  const auto [width, height, columns] = layout(figure);
  if (stem.has_parent_path()) std::filesystem::create_directories(stem.parent_path());

  // PNG.
  std::string png;
  {
    cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    cairo_t* cr = cairo_create(surface);
    draw_figure(cr, figure, width, height, columns);
    cairo_destroy(cr);
    const cairo_status_t status = cairo_surface_write_to_png_stream(surface, append_to_string, &png);
    cairo_surface_destroy(surface);
    if (status != CAIRO_STATUS_SUCCESS) throw RunError("figure: cannot encode PNG for '" + stem.string() + "'");
  }
  write_file_atomic(stem.string() + ".png", png);
  write_file_atomic(stem.string() + ".svg", render_svg(figure));
  return {width, height};
}

std::string render_svg(const Figure& figure) {
  if (figure.panels.empty()) throw InternalError("figure: '" + figure.title + "' has no panels");
  const auto [width, height, columns] = layout(figure);
  std::string svg;
  cairo_surface_t* surface = cairo_svg_surface_create_for_stream(append_to_string, &svg, width, height);
  cairo_t* cr = cairo_create(surface);
  draw_figure(cr, figure, width, height, columns);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  cairo_surface_destroy(surface);
  return svg;
}

}  // namespace frerec::report
