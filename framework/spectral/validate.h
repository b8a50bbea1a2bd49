// Input checks shared by the spectral toolkit, SSIM, retrieval and SHR. They throw
// user-facing errors (framework/core/error.h) naming the component, the set, the image
// index and the shapes involved.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "framework/core/image.h"

namespace frerec::spectral {

// "3x64x48" (C×H×W).
std::string shape_string(const Image& image);

// RunError if any pixel is NaN or infinite: "<component>: <set> image <index> has a
// non-finite pixel (nan) at channel c, row y, column x; ...".
void require_finite(const Image& image, const std::string& component, const std::string& set_name,
                    std::size_t index);

// ConfigError if the image is empty.
void require_non_empty(const Image& image, const std::string& component, const std::string& set_name,
                       std::size_t index);

// Every image of `images` must be non-empty, finite and of the same shape as
// `reference_shape` (or as images[0] when reference_shape is null). Mismatch → ConfigError
// naming both shapes.
void require_uniform_set(const std::vector<Image>& images, const std::string& component, const std::string& set_name,
                         const Image* reference_shape = nullptr, const std::string& reference_name = "");

}  // namespace frerec::spectral
