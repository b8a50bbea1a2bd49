#include "augmentations/frerec/retrieval_cache.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "framework/cache/artifact_cache.h"
#include "framework/cache/hdf5_io.h"

namespace frerec::pipeline {
namespace fs = std::filesystem;

namespace {

spectral::RetrievalResult cached(const std::string& fingerprint, std::size_t queries, std::size_t references,
                                 const spectral::RetrievalOptions& options, const RunContext& run,
                                 const std::function<spectral::RetrievalResult()>& compute) {
  ArtifactKey key{"retrieval", fingerprint,
                  fmt::format("k={};window={};pool={};loo={}", options.k, spectral::to_string(options.window),
                              spectral::to_string(options.pool), options.leave_one_out),
                  "1"};
  std::unique_ptr<ArtifactCache> own;
  ArtifactCache* cache = run.cache;
  if (cache == nullptr) {
    own = std::make_unique<ArtifactCache>(run.cache_dir);
    cache = own.get();
  }
  std::optional<spectral::RetrievalResult> computed;
  const fs::path path = cache->get_or_build(key, [&](const fs::path& tmp) {
    const auto t0 = std::chrono::steady_clock::now();
    computed = compute();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("retrieval: top-{} SSIM of {} queries against {} references in {:.1f}s ({:.0f} pairs/s)",
                 computed->k, queries, references, seconds,
                 static_cast<double>(queries) * references / std::max(seconds, 1e-9));
    h5::File file(tmp, "w");
    const hsize_t m = static_cast<hsize_t>(computed->queries), k = static_cast<hsize_t>(computed->k);
    h5::write_array<std::int32_t>(file, "indices", computed->indices, {m, k});
    h5::write_array<double>(file, "scores", computed->scores, {m, k});
  });
  if (computed) return *computed;
  h5::File file(path, "r");
  spectral::RetrievalResult result;
  std::vector<hsize_t> dims;
  result.indices = h5::read_array<std::int32_t>(file, "indices", &dims);
  result.scores = h5::read_array<double>(file, "scores");
  result.queries = static_cast<int>(dims.at(0));
  result.k = static_cast<int>(dims.at(1));
  spdlog::info("retrieval: top-{} neighbours of {} queries read from the cache", result.k, result.queries);
  return result;
}

}  // namespace

spectral::RetrievalResult cached_retrieval(const std::vector<Image>& queries, const std::vector<Image>& references,
                                           const spectral::RetrievalOptions& options, const RunContext& run,
                                           const std::vector<int>& query_labels, const std::vector<int>& reference_labels) {
  return cached(spectral::retrieval_fingerprint(queries, references, options, query_labels, reference_labels),
                queries.size(), references.size(), options, run,
                [&] { return spectral::top_k_ssim(queries, references, options, query_labels, reference_labels); });
}

spectral::RetrievalResult cached_retrieval(const ImageStore& queries, const ImageStore& references,
                                           const spectral::RetrievalOptions& options, const RunContext& run,
                                           const std::vector<int>& query_labels, const std::vector<int>& reference_labels) {
  return cached(spectral::retrieval_fingerprint(queries, references, options, query_labels, reference_labels),
                queries.size(), references.size(), options, run,
                [&] { return spectral::top_k_ssim(queries, references, options, query_labels, reference_labels); });
}

}  // namespace frerec::pipeline
