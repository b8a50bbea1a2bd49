#include "models/generators/sample_grid.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "framework/core/atomic_file.h"
#include "framework/core/error.h"
#include "framework/io/image_io.h"

namespace frerec::generators {
namespace fs = std::filesystem;

void write_image_grid(const fs::path& png, const std::string& title, const std::vector<GridRow>& rows, int min_side) {
  int side = 0;
  std::size_t columns = 0;
  for (const auto& row : rows) {
    columns = std::max(columns, row.images.size());
    for (const auto& image : row.images) side = std::max({side, image.height, image.width});
  }
  if (rows.empty() || columns == 0) throw RunError("generator: no images for the grid '" + png.string() + "'");
  side = std::max(side, min_side);
  const int label_width = 190, header = 34, gap = 4;
  const int width = label_width + static_cast<int>(columns) * (side + gap);
  const int height = header + static_cast<int>(rows.size()) * (side + gap);
  cv::Mat sheet(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(sheet, title, cv::Point(8, 24), cv::FONT_HERSHEY_SIMPLEX, 0.7, cv::Scalar(0, 0, 0), 2, cv::LINE_AA);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const int y0 = header + static_cast<int>(r) * (side + gap);
    cv::putText(sheet, rows[r].label, cv::Point(8, y0 + side / 2 + 6), cv::FONT_HERSHEY_SIMPLEX, 0.5,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    for (std::size_t k = 0; k < rows[r].images.size(); ++k) {
      const Image& image = rows[r].images[k];
      cv::Mat tile(image.height, image.width, CV_8UC3);
      for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
          for (int c = 0; c < 3; ++c)  // OpenCV stores BGR
            tile.at<cv::Vec3b>(y, x)[2 - c] = io::to_u8(image.at(image.channels == 3 ? c : 0, y, x));
      cv::Mat big;
      cv::resize(tile, big, cv::Size(side, side), 0, 0, cv::INTER_NEAREST);
      big.copyTo(sheet(cv::Rect(label_width + static_cast<int>(k) * (side + gap), y0, side, side)));
    }
  }
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(".png", sheet, bytes)) throw RunError("generator: PNG encoding of '" + png.string() + "' failed");
  if (!png.parent_path().empty()) fs::create_directories(png.parent_path());
  write_file_atomic(png, std::string(bytes.begin(), bytes.end()));
}

}  // namespace frerec::generators
