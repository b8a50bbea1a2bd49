// Sample grids: labelled rows of images in one PNG (training progress and report figures).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::generators {

struct GridRow {
  std::string label;          // drawn left of the row, e.g. "real negative"
  std::vector<Image> images;  // [C,S,S] in [0,1]; gray or RGB
};

// A title line, then one row per GridRow; images are enlarged (nearest neighbour) to at
// least `min_side` pixels. Written atomically.
void write_image_grid(const std::filesystem::path& png, const std::string& title, const std::vector<GridRow>& rows,
                      int min_side = 96);

}  // namespace frerec::generators
