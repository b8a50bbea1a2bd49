#include "datasets/export.h"

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <set>
#include <iostream>

#include "datasets/register.h"
#include "framework/config/loader.h"
#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/csv.h"
#include "framework/io/image_io.h"

namespace frerec::datasets {
namespace fs = std::filesystem;

namespace {

const char* class_folder(int label) { return label == 1 ? "positive" : "negative"; }

std::string file_name(const std::string& id) {
  std::string name;
  for (char ch : fs::path(id).replace_extension().generic_string()) {
    if (ch == '/') name += "__";
    else if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.') name += ch;
    else name += '_';
  }
  return name + ".png";
}

// The file of `id` in `dir`: file_name(id), or, when an earlier id of the set took that
// name (x,y.jpg and x_y.jpg both become x_y.png, a.png and a.jpg both a.png), the name with
// __2, __3, ... before .png, so every id keeps its own file and manifest row. Deterministic:
// the set's order decides which id keeps the plain name (docs/decisions.md).
fs::path unique_file(const fs::path& dir, const std::string& id, std::set<fs::path>& taken) {
  const std::string name = file_name(id);
  fs::path file = dir / name;
  for (int k = 2; !taken.insert(file).second; ++k)
    file = dir / (name.substr(0, name.size() - 4) + "__" + std::to_string(k) + ".png");
  return file;
}

// Writes `set` below out/<folder>/<class>/ and appends manifest rows (paths relative to
// `manifest_root`).
std::size_t write_set(const ImageSet& set, const fs::path& manifest_root, const fs::path& folder,
                      const std::string& split, io::CsvTable& manifest) {
  std::size_t written = 0;
  std::set<fs::path> taken;
  set.for_each_chunk(256, [&](std::size_t first, const std::vector<Image>& images) {
    for (std::size_t k = 0; k < images.size(); ++k) {
      const std::size_t i = first + k;
      const fs::path dir = folder / class_folder(set.labels()[i]);
      fs::create_directories(dir);
      const fs::path file = unique_file(dir, set.ids()[i], taken);
      io::write_png(file, images[k], set.bit_depth());
      manifest.rows.push_back({file.lexically_relative(manifest_root).generic_string(), std::to_string(set.labels()[i]),
                               split, set.ids()[i]});
      ++written;
    }
  });
  return written;
}

}  // namespace

ExportSummary export_task(const TaskData& task, const fs::path& out_dir) {
  ExportSummary summary;
  fs::create_directories(out_dir);
  const std::vector<std::string> columns = {"path", "label", "split", "id"};
  io::CsvTable manifest{"", columns, {}};
  summary.images += write_set(task.real_train, out_dir, out_dir / "train", "train", manifest);
  summary.images += write_set(task.real_val, out_dir, out_dir / "val", "val", manifest);
  summary.images += write_set(task.real_test, out_dir, out_dir / "test", "test", manifest);
  summary.manifest = out_dir / "manifest.csv";
  io::write_csv(summary.manifest, manifest);
  if (!task.synthetic.empty()) {
    io::CsvTable synthetic{"", columns, {}};
    const fs::path root = out_dir / "synthetic";
    summary.images += write_set(task.synthetic, root, root, "", synthetic);
    io::write_csv(root / "manifest.csv", synthetic);
  }
  return summary;
}

ExportSummary export_dataset(const config::Params& data_section, const fs::path& out_dir, const RunContext& ctx) {
  return export_task(load_task(data_section, ctx), out_dir);
}

config::Params data_section_for(const std::string& name, const YAML::Node& overrides) {
  YAML::Node node(YAML::NodeType::Map);
  if (overrides && overrides.IsMap())
    for (const auto& item : overrides) node[item.first.as<std::string>()] = YAML::Clone(item.second);
  else if (overrides && !overrides.IsNull())
    throw ConfigError("datasets: overrides for '" + name + "' must be a mapping of data keys");
  node["name"] = name;
  register_all();  // the loaders must be registered for their sub-blocks to validate
  return validate_data_section(node, "data");
}

void write_contact_sheet(const ImageSet& set, const std::string& title, const fs::path& png, int per_class) {
  if (set.empty()) throw RunError("datasets: cannot draw a contact sheet of an empty set ('" + title + "')");
  const int side = std::max(96, set.height());
  const int label_width = 110, header = 34, gap = 4;
  const int width = label_width + per_class * (side + gap);
  const int height = header + 2 * (side + gap);
  cv::Mat sheet(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(sheet, title, cv::Point(8, 24), cv::FONT_HERSHEY_SIMPLEX, 0.7, cv::Scalar(0, 0, 0), 2, cv::LINE_AA);
  for (int label = 0; label < 2; ++label) {
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < set.size() && static_cast<int>(rows.size()) < per_class; ++i)
      if (set.labels()[i] == label) rows.push_back(i);
    const int y0 = header + label * (side + gap);
    cv::putText(sheet, class_folder(label), cv::Point(8, y0 + side / 2 + 6), cv::FONT_HERSHEY_SIMPLEX, 0.6,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    const std::vector<Image> images = set.read_batch(rows);
    for (std::size_t k = 0; k < images.size(); ++k) {
      const Image& image = images[k];
      cv::Mat tile(image.height, image.width, CV_8UC3);
      for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
          for (int c = 0; c < 3; ++c)
            tile.at<cv::Vec3b>(y, x)[2 - c] = io::to_u8(image.at(image.channels == 3 ? c : 0, y, x));
      cv::Mat big;
      cv::resize(tile, big, cv::Size(side, side), 0, 0, cv::INTER_NEAREST);
      big.copyTo(sheet(cv::Rect(label_width + static_cast<int>(k) * (side + gap), y0, side, side)));
    }
  }
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(".png", sheet, bytes)) throw RunError("datasets: PNG encoding of the contact sheet failed");
  if (!png.parent_path().empty()) fs::create_directories(png.parent_path());
  write_file_atomic(png, std::string(bytes.begin(), bytes.end()));
}

int export_command(const std::string& name, const fs::path& out, const std::vector<std::string>& overrides,
                            const RunContext& run) {
  if (out.empty()) throw ConfigError("datasets export: --out is required");
  YAML::Node node(YAML::NodeType::Map);
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) throw ConfigError("datasets export: '" + o + "' must look like key=value (e.g. image_size=128)");
    config::set_by_path(node, o.substr(0, eq), YAML::Load(o.substr(eq + 1)));
  }
  const config::Params section = data_section_for(name, node);
  const auto summary = datasets::export_dataset(section, out, run);
  std::cout << fmt::format("exported {} images of '{}' to {} (manifest: {})\n", summary.images, name, out.string(),
                           summary.manifest.string());
  return 0;
}

}  // namespace frerec::datasets
