// One figure model rendered to PNG and SVG through Cairo (shared/STYLE.md §9).
// A Figure is a grid of panels; each panel is a heatmap with colour bar, a line plot
// with legend, or a scatter plot of coloured point sets (e.g. t-SNE: real orange,
// synthetic blue).
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace frerec::report {

using Rgb = std::array<double, 3>;  // components in [0,1]

struct Heatmap {
  std::string title;
  int rows = 0, cols = 0;
  std::vector<double> values;  // row-major, rows*cols
  std::optional<double> vmin, vmax;  // default: data range (symmetric when diverging)
  bool diverging = false;      // blue-white-red around 0 instead of viridis
  std::string colorbar_label;
};

struct LineSeries {
  std::string label;
  std::vector<double> x, y;
  std::optional<Rgb> color;
  bool dashed = false;
  std::vector<double> spread = {};  // optional, one per point: a translucent band y ± spread (std over seeds)
  bool markers = false;             // a dot at every point (curves of a few measured points)
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<LineSeries> series;
  bool log_y = false;  // base 10
  bool log_x = false;  // base 2, ticks at powers of two (budgets that double: steps, epochs)
  std::vector<double> x_ticks = {};  // data units: ticks at these values instead of the automatic ones
};

struct ScatterSeries {
  std::string label;
  std::vector<double> x, y;
  std::optional<Rgb> color;
  double radius = 2.0;
};

struct ScatterPlot {
  std::string title, x_label, y_label;
  std::vector<ScatterSeries> series;
};

using Panel = std::variant<Heatmap, LinePlot, ScatterPlot>;

struct Figure {
  std::string title;
  std::vector<Panel> panels;
  int columns = 0;           // 0: all panels in one row
  int panel_width = 360;     // pixels (PNG) / points (SVG)
  int panel_height = 300;
};

Rgb palette_color(std::size_t index);     // tab10-like qualitative colours
Rgb viridis(double t);                    // t in [0,1]
Rgb diverging_color(double t);            // t in [-1,1]: blue - white - red

// The figure as SVG text (what save_figure writes to <stem>.svg).
std::string render_svg(const Figure& figure);

// Writes <stem>.png and <stem>.svg atomically; returns the PNG size (width, height).
std::pair<int, int> save_figure(const Figure& figure, const std::filesystem::path& stem);

}  // namespace frerec::report
