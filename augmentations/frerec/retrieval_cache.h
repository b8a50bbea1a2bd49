// Top-K SSIM retrieval of SHR's real neighbours (paper Eq. 1: "the top-K real images with
// the highest SSIM to the synthetic image"; framework/spectral/retrieval.h computes it)
// through the artifact cache: kind "retrieval", keyed by both image sets' pixels, the
// labels and the options, so calibrating or training the same sets again never repeats the
// O(queries × references) SSIM search.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "framework/core/context.h"
#include "framework/core/image.h"
#include "framework/spectral/retrieval.h"

namespace frerec::pipeline {

spectral::RetrievalResult cached_retrieval(const std::vector<Image>& queries, const std::vector<Image>& references,
                                           const spectral::RetrievalOptions& options, const RunContext& run,
                                           const std::vector<int>& query_labels = {},
                                           const std::vector<int>& reference_labels = {});
// The same on stores (streaming; the same cache entry as the vector form for the same images).
spectral::RetrievalResult cached_retrieval(const ImageStore& queries, const ImageStore& references,
                                           const spectral::RetrievalOptions& options, const RunContext& run,
                                           const std::vector<int>& query_labels = {},
                                           const std::vector<int>& reference_labels = {});

}  // namespace frerec::pipeline
