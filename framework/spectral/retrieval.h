// Exact top-K retrieval by SSIM (shared/DESIGN.md §4 "SHR": the K real neighbours of each
// synthetic image). For M queries against N references, returns for every query the K
// references with the highest SSIM (ssim.h definition, `gaussian` or `uniform` window),
// in decreasing score, ties broken by the lower reference index — the same list a
// brute-force scan returns.
//
// Algorithm: each image's per-channel local means and variances over valid windows are
// computed once (double, stored as float, centred on the channel mean); a pair then only
// needs the cross term G*(x·y), computed with a separable, vectorised filter streamed
// row by row through an n-row ring buffer (ssim_kernel.h; AVX2+FMA when the CPU has it,
// baseline SSE2 otherwise). Scores are single precision with double accumulation and
// differ from the double reference `ssim` by ~1e-7. To make the ranking exactly the
// brute-force (double) ranking, every candidate at or near the top K whose float score is
// within 1e-5 of a neighbouring rank (or of the K-th score) is re-scored with the double
// `ssim` before the final sort (`exact_ties`, default on; typically a handful of pairs per
// query). Other scores stay single-precision-derived. Queries are processed in chunks (and
// references in blocks) so memory stays bounded; threads split the queries of a chunk,
// and results never depend on the thread count.
//
// Decisions (the paper is silent):
//  * pool `same_class`: a query's candidates are the references with the query's label.
//  * leave_one_out (the queries are the first M ≤ N references, usually all of them):
//    reference i is excluded for query i (RHM training: a real image is not its own
//    neighbour; M < N when the auto-encoder trains on a subset, dae_train_images).
//  * K larger than the smallest pool: spdlog::warn and K = that pool size for every query
//    (one fixed K keeps the result rectangular). An empty pool is a RunError.
//  * Scores are returned as double; indices as int32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/core/image.h"
#include "framework/core/image_store.h"
#include "framework/spectral/ssim.h"

namespace frerec::spectral {

enum class RetrievalPool { kAll, kSameClass };
RetrievalPool parse_retrieval_pool(const std::string& name, const std::string& component);  // "all" | "same_class"
const char* to_string(RetrievalPool pool);

struct RetrievalOptions {
  int k = 200;
  SsimWindow window = SsimWindow::kGaussian;
  RetrievalPool pool = RetrievalPool::kAll;
  bool leave_one_out = false;  // query i is reference i (the queries are the first references)
  int threads = 1;
  bool allow_avx2 = true;      // false forces the baseline kernel (benchmarks, tests)
  bool exact_ties = true;      // re-score near-ties around rank K in double (see top)
};

struct RetrievalResult {
  int queries = 0;
  int k = 0;
  std::vector<std::int32_t> indices;  // [queries × k], row-major, best first
  std::vector<double> scores;         // [queries × k], SSIM of query i and indices[i*k + j]
  long rescored_pairs = 0;            // pairs re-scored in double to settle near-ties (diagnostic)
  std::int32_t index(int query, int rank) const { return indices[static_cast<std::size_t>(query) * k + rank]; }
  double score(int query, int rank) const { return scores[static_cast<std::size_t>(query) * k + rank]; }
};

// Labels are required (one per image) when options.pool is kSameClass, ignored otherwise.
// Errors: ConfigError for k < 1, shape mismatch between any two images (naming both
// shapes), images smaller than the window, missing/mis-sized labels, leave_one_out with
// M > N; RunError for an empty reference set, an empty pool, non-finite pixels (naming
// the set and image index).
RetrievalResult top_k_ssim(const std::vector<Image>& queries, const std::vector<Image>& references,
                           const RetrievalOptions& options, const std::vector<int>& query_labels = {},
                           const std::vector<int>& reference_labels = {});

// The same on stores, read in chunks: memory stays bounded by the chunk sizes (see top)
// whatever the set sizes (DR scale: 27,000 references of 224² RGB). Same results as the
// vector form on the same images; each chunk read is checked (non-empty, finite pixels).
RetrievalResult top_k_ssim(const ImageStore& queries, const ImageStore& references, const RetrievalOptions& options,
                           const std::vector<int>& query_labels = {}, const std::vector<int>& reference_labels = {});

// The same contract computed pair by pair with the double-precision `ssim` and a full
// sort: the reference the fast path is tested and benchmarked against.
RetrievalResult top_k_ssim_brute_force(const std::vector<Image>& queries, const std::vector<Image>& references,
                                       const RetrievalOptions& options, const std::vector<int>& query_labels = {},
                                       const std::vector<int>& reference_labels = {});

// SHA-256 (hex) of everything the result depends on: image shapes and pixel bytes of both
// sets, labels when the pool is same_class, k, window, pool, leave_one_out, exact_ties
// and the algorithm version. Not the thread count or SIMD choice. For the artifact cache
// key (the lead stores {indices, scores} through framework/cache/artifact_cache.h).
std::string retrieval_fingerprint(const std::vector<Image>& queries, const std::vector<Image>& references,
                                  const RetrievalOptions& options, const std::vector<int>& query_labels = {},
                                  const std::vector<int>& reference_labels = {});

// The same fingerprint of stores (equal to the vector form's for the same images).
std::string retrieval_fingerprint(const ImageStore& queries, const ImageStore& references,
                                  const RetrievalOptions& options, const std::vector<int>& query_labels = {},
                                  const std::vector<int>& reference_labels = {});

// True when the AVX2+FMA kernel is compiled in and the CPU supports it.
bool ssim_kernel_has_avx2();

}  // namespace frerec::spectral
