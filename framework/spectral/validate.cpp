#include "framework/spectral/validate.h"

#include <cmath>

#include "framework/core/error.h"

namespace frerec::spectral {

std::string shape_string(const Image& image) {
  return std::to_string(image.channels) + "x" + std::to_string(image.height) + "x" + std::to_string(image.width);
}

void require_non_empty(const Image& image, const std::string& component, const std::string& set_name,
                       std::size_t index) {
  if (image.channels <= 0 || image.height <= 0 || image.width <= 0 || image.data.empty()) {
    throw ConfigError(component + ": " + set_name + " image " + std::to_string(index) + " is empty (shape " +
                      shape_string(image) + "); give decoded images with at least one pixel");
  }
  if (image.data.size() != static_cast<std::size_t>(image.channels) * image.height * image.width) {
    throw ConfigError(component + ": " + set_name + " image " + std::to_string(index) + " holds " +
                      std::to_string(image.data.size()) + " values but its shape " + shape_string(image) +
                      " needs " + std::to_string(static_cast<std::size_t>(image.channels) * image.height * image.width));
  }
}

void require_finite(const Image& image, const std::string& component, const std::string& set_name,
                    std::size_t index) {
  const std::size_t plane = image.plane_size();
  for (std::size_t i = 0; i < image.data.size(); ++i) {
    const float v = image.data[i];
    if (!std::isfinite(v)) {
      const std::size_t c = i / plane, y = (i % plane) / image.width, x = i % image.width;
      throw RunError(component + ": " + set_name + " image " + std::to_string(index) + " has a non-finite pixel (" +
                     (std::isnan(v) ? std::string("nan") : std::string("inf")) + ") at channel " + std::to_string(c) +
                     ", row " + std::to_string(y) + ", column " + std::to_string(x) +
                     "; fix or drop that image before spectral processing");
    }
  }
}

void require_uniform_set(const std::vector<Image>& images, const std::string& component, const std::string& set_name,
                         const Image* reference_shape, const std::string& reference_name) {
  for (std::size_t i = 0; i < images.size(); ++i) {
    require_non_empty(images[i], component, set_name, i);
    const Image* ref = reference_shape != nullptr ? reference_shape : &images[0];
    if (!images[i].same_shape(*ref)) {
      const std::string ref_name =
          reference_shape != nullptr ? reference_name : set_name + " image 0";
      throw ConfigError(component + ": " + set_name + " image " + std::to_string(i) + " has shape " +
                        shape_string(images[i]) + " (CxHxW) but " + ref_name + " has shape " + shape_string(*ref) +
                        "; resize both sets to one size and channel count first");
    }
    require_finite(images[i], component, set_name, i);
  }
}

}  // namespace frerec::spectral
