#include "framework/spectral/retrieval.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/progress.h"
#include "framework/spectral/parallel.h"
#include "framework/spectral/ssim_kernel.h"
#include "framework/spectral/validate.h"

namespace frerec::spectral {

RetrievalPool parse_retrieval_pool(const std::string& name, const std::string& component) {
  if (name == "all") return RetrievalPool::kAll;
  if (name == "same_class") return RetrievalPool::kSameClass;
  throw ConfigError(component + ": pool '" + name + "' is not known; use 'all' or 'same_class'");
}

const char* to_string(RetrievalPool pool) { return pool == RetrievalPool::kAll ? "all" : "same_class"; }

bool ssim_kernel_has_avx2() {
#if defined(FREREC_SPECTRAL_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
#else
  return false;
#endif
}

namespace {

constexpr const char* kComponent = "ssim retrieval";

// Per-image, per-channel precomputation (ssim_kernel.h): centred plane, centred local
// mean and variance over valid windows, channel mean.
class PreparedSet {
 public:
  // `chunk` holds the images [begin, begin + chunk.size()) of their set.
  PreparedSet(const std::vector<Image>& chunk, std::size_t begin, const SsimSettings& settings, int threads)
      : begin_(begin), count_(chunk.size()) {
    const Image& first = chunk.front();
    channels_ = first.channels;
    h_ = first.height;
    w_ = first.width;
    const int n = settings.size;
    hv_ = h_ - n + 1;
    wv_ = w_ - n + 1;
    const std::size_t plane = static_cast<std::size_t>(h_) * w_, valid = static_cast<std::size_t>(hv_) * wv_;
    centred_.resize(count_ * channels_ * plane);
    mu_.resize(count_ * channels_ * valid);
    var_.resize(count_ * channels_ * valid);
    means_.resize(count_ * channels_);
    parallel_for(count_, threads, [&](std::size_t i) {
      std::vector<double> x(plane), sq(plane), tmp(static_cast<std::size_t>(hv_) * w_), m(valid), mm(valid);
      for (int c = 0; c < channels_; ++c) {
        const float* src = chunk[i].plane(c);
        double mean = 0.0;
        for (std::size_t p = 0; p < plane; ++p) mean += src[p];
        mean /= static_cast<double>(plane);
        const float mean_f = static_cast<float>(mean);
        float* cen = centred_.data() + (i * channels_ + c) * plane;
        for (std::size_t p = 0; p < plane; ++p) {
          cen[p] = src[p] - mean_f;  // exactly what the kernel multiplies
          x[p] = cen[p];
          sq[p] = static_cast<double>(src[p]) * src[p];
        }
        filter_valid(x.data(), h_, w_, settings.taps, tmp.data(), m.data());
        filter_valid(sq.data(), h_, w_, settings.taps, tmp.data(), mm.data());
        float* mu = mu_.data() + (i * channels_ + c) * valid;
        float* var = var_.data() + (i * channels_ + c) * valid;
        for (std::size_t p = 0; p < valid; ++p) {
          const double local_mean = m[p] + mean_f;  // G*x (taps sum to 1)
          mu[p] = static_cast<float>(m[p]);
          var[p] = static_cast<float>(settings.covariance_norm * (mm[p] - local_mean * local_mean));
        }
        means_[i * channels_ + c] = mean_f;
      }
    });
  }

  detail::KernelPlane plane(std::size_t image, int c) const {
    const std::size_t i = image - begin_;
    const std::size_t plane = static_cast<std::size_t>(h_) * w_, valid = static_cast<std::size_t>(hv_) * wv_;
    return {centred_.data() + (i * channels_ + c) * plane, mu_.data() + (i * channels_ + c) * valid,
            var_.data() + (i * channels_ + c) * valid, means_[i * channels_ + c]};
  }
  std::size_t begin() const { return begin_; }
  std::size_t end() const { return begin_ + count_; }
  int channels() const { return channels_; }
  std::size_t valid_pixels() const { return static_cast<std::size_t>(hv_) * wv_; }

 private:
  std::size_t begin_, count_;
  int channels_ = 0, h_ = 0, w_ = 0, hv_ = 0, wv_ = 0;
  std::vector<float> centred_, mu_, var_, means_;
};

struct Candidate {
  double score;
  std::int32_t index;
};
inline bool better(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

// Which references a query may retrieve (its pool) and the effective K. Pools are a rule,
// not stored lists: at DR scale a leave-one-out list per query would take N² indices.
struct Plan {
  int k = 0;
  bool leave_one_out = false;
  bool same_class = false;
  const std::vector<int>* query_labels = nullptr;
  const std::vector<int>* reference_labels = nullptr;
  bool eligible(std::size_t q, std::size_t r) const {
    if (leave_one_out && r == q) return false;
    return !same_class || (*reference_labels)[r] == (*query_labels)[q];
  }
};

// Shared checks on the sizes, shapes and labels of both sets (shape: C, H, W of either
// set's images); returns the plan.
Plan plan_retrieval(std::size_t queries, std::size_t references, int channels, int height, int width,
                    const RetrievalOptions& options, const std::vector<int>& query_labels,
                    const std::vector<int>& reference_labels) {
  (void)channels;
  if (options.k < 1) throw ConfigError(std::string(kComponent) + ": k=" + std::to_string(options.k) + " must be at least 1");
  if (options.threads < 1) {
    throw ConfigError(std::string(kComponent) + ": threads=" + std::to_string(options.threads) + " must be at least 1");
  }
  if (references == 0) {
    throw RunError(std::string(kComponent) + ": the reference pool is empty; give at least one real image");
  }
  const SsimSettings settings = ssim_settings(options.window);
  if (height < settings.size || width < settings.size) {
    throw ConfigError(std::string(kComponent) + ": image shape " + std::to_string(channels) + "x" +
                      std::to_string(height) + "x" + std::to_string(width) + " is smaller than the " +
                      std::to_string(settings.size) + "x" + std::to_string(settings.size) + " " +
                      to_string(options.window) + " window; use larger images");
  }
  if (options.leave_one_out && queries > references) {
    throw ConfigError(std::string(kComponent) + ": leave_one_out needs the queries to be the first references (got " +
                      std::to_string(queries) + " queries and " + std::to_string(references) + " references)");
  }
  const bool same_class = options.pool == RetrievalPool::kSameClass;
  if (same_class && (query_labels.size() != queries || reference_labels.size() != references)) {
    throw ConfigError(std::string(kComponent) + ": pool=same_class needs one label per image (got " +
                      std::to_string(query_labels.size()) + " labels for " + std::to_string(queries) +
                      " queries and " + std::to_string(reference_labels.size()) + " for " +
                      std::to_string(references) + " references)");
  }
  Plan plan;
  plan.leave_one_out = options.leave_one_out;
  plan.same_class = same_class;
  plan.query_labels = &query_labels;
  plan.reference_labels = &reference_labels;
  // Pool sizes: all references, or those of the query's label; one fewer with leave-one-out
  // (the query itself always has its own label).
  std::map<int, std::size_t> per_label;
  if (same_class)
    for (int label : reference_labels) ++per_label[label];
  std::size_t smallest = std::numeric_limits<std::size_t>::max();
  std::size_t smallest_query = 0;
  for (std::size_t q = 0; q < queries; ++q) {
    std::size_t pool = same_class ? per_label[query_labels[q]] : references;
    if (options.leave_one_out) --pool;
    if (pool == 0) {
      throw RunError(std::string(kComponent) + ": the pool of query " + std::to_string(q) + " is empty (pool=" +
                     to_string(options.pool) + (same_class ? ", label " + std::to_string(query_labels[q]) : "") +
                     (options.leave_one_out ? ", leave-one-out" : "") + " over " + std::to_string(references) +
                     " references); add references or use pool=all");
    }
    if (pool < smallest) {
      smallest = pool;
      smallest_query = q;
    }
  }
  plan.k = options.k;
  if (queries > 0 && static_cast<std::size_t>(options.k) > smallest) {
    spdlog::warn("{}: k={} is larger than the pool of query {} ({} candidates, pool={}{}); using k={}", kComponent,
                 options.k, smallest_query, smallest, to_string(options.pool),
                 options.leave_one_out ? ", leave-one-out" : "", smallest);
    plan.k = static_cast<int>(smallest);
  }
  return plan;
}

// The vector sets' own checks (every image non-empty, finite, of one shape), then the plan.
Plan plan_retrieval(const std::vector<Image>& queries, const std::vector<Image>& references,
                    const RetrievalOptions& options, const std::vector<int>& query_labels,
                    const std::vector<int>& reference_labels) {
  if (!references.empty()) {
    require_uniform_set(references, kComponent, "reference");
    require_uniform_set(queries, kComponent, "query", &references[0], "reference image 0");
  }
  const Image none;
  const Image& first = references.empty() ? none : references[0];
  return plan_retrieval(queries.size(), references.size(), first.channels, first.height, first.width, options,
                        query_labels, reference_labels);
}

// Makes the single-precision ranking exact: candidates whose float score lies within
// kTieMargin of a neighbouring rank at or around the K-th place are re-scored with the
// double-precision `ssim` (the float error is ~1e-7, far below the margin), so the final
// order equals the brute-force order. Returns the number of pairs re-scored.
constexpr double kTieMargin = 1e-5;

int resolve_near_ties(std::vector<Candidate>& scored, int k, const Image& query, const ImageStore& references,
                      SsimWindow window) {
  std::sort(scored.begin(), scored.end(), better);
  // Extend past rank k while scores stay within the margin of the k-th one.
  std::size_t end = static_cast<std::size_t>(k);
  while (end < scored.size() && scored[k - 1].score - scored[end].score < kTieMargin) ++end;
  std::vector<char> ambiguous(end, 0);
  for (std::size_t p = 0; p + 1 < end; ++p) {
    if (scored[p].score - scored[p + 1].score < kTieMargin) ambiguous[p] = ambiguous[p + 1] = 1;
  }
  if (end > static_cast<std::size_t>(k)) ambiguous[k - 1] = 1;
  int rescored = 0;
  for (std::size_t p = 0; p < end; ++p) {
    if (!ambiguous[p]) continue;
    scored[p].score = ssim(query, references.read(static_cast<std::size_t>(scored[p].index)), window);
    ++rescored;
  }
  if (rescored > 0) std::sort(scored.begin(), scored.begin() + end, better);
  return rescored;
}

void select_top_k(std::vector<Candidate>& scored, int k, std::int32_t* indices, double* scores) {
  std::partial_sort(scored.begin(), scored.begin() + k, scored.end(), better);
  for (int j = 0; j < k; ++j) {
    indices[j] = scored[j].index;
    scores[j] = scored[j].score;
  }
}

RetrievalResult sized_result(std::size_t queries, int k) {
  RetrievalResult result;
  result.queries = static_cast<int>(queries);
  result.k = k;
  result.indices.resize(queries * k);
  result.scores.resize(queries * k);
  return result;
}

}  // namespace

namespace {

// The streaming search: queries in chunks of ~256 MiB of prepared data, references read
// block by block from their store for every query chunk. `check_chunks`: validate each
// chunk read from a store (stores built elsewhere; vector sets were checked whole).
RetrievalResult top_k_core(const ImageStore& queries, const ImageStore& references, const RetrievalOptions& options,
                           const Plan& plan, bool check_chunks) {
  RetrievalResult result = sized_result(queries.size(), plan.k);
  if (queries.empty()) return result;

  const SsimSettings settings = ssim_settings(options.window);
  FREREC_ASSERT(settings.size <= 64, "ssim window larger than the kernel's ring buffer");
  std::vector<float> taps(settings.taps.begin(), settings.taps.end());
  detail::KernelShape shape{references.height(), references.width(), taps.data(), settings.size,
                            static_cast<float>(settings.covariance_norm), static_cast<float>(SsimSettings::kC1),
                            static_cast<float>(SsimSettings::kC2)};
  const bool avx2 = options.allow_avx2 && ssim_kernel_has_avx2();
  auto kernel = avx2 ? &detail::avx2::ssim_sums : &detail::generic::ssim_sums;
  const int channels = references.channels();
  const Image shape_of(references.channels(), references.height(), references.width());
  auto checked = [&](std::vector<Image> chunk, const char* set, std::size_t first) {
    if (check_chunks)
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        require_non_empty(chunk[i], kComponent, set, first + i);
        require_finite(chunk[i], kComponent, set, first + i);
      }
    return chunk;
  };

  // Prepared data takes ~12 bytes per pixel per image. Queries are prepared in chunks of
  // up to ~256 MiB; references in blocks of ~16 MiB, small enough to stay in the last-level
  // cache while every query of the chunk is scored against them (otherwise each pair
  // streams its reference from memory).
  const std::size_t bytes_per_image = 12 * shape_of.size();
  const std::size_t query_chunk = std::max<std::size_t>(8, (std::size_t(256) << 20) / bytes_per_image);
  const std::size_t block = std::max<std::size_t>(4, (std::size_t(16) << 20) / bytes_per_image);
  // Long searches (≥ 10⁷ pairs: minutes at 256²) log their progress in pairs every 10 s.
  const std::size_t total_pairs = queries.size() * references.size();
  std::optional<Progress> bar;
  if (total_pairs >= 10'000'000) bar.emplace("retrieval pairs", total_pairs, false);
  for (std::size_t q0 = 0; q0 < queries.size(); q0 += query_chunk) {
    const std::size_t q1 = std::min(queries.size(), q0 + query_chunk);
    const std::vector<Image> query_images = checked(queries.read_range(q0, q1), "query", q0);
    const PreparedSet prepared_queries(query_images, q0, settings, options.threads);
    std::vector<std::vector<Candidate>> scored(q1 - q0);
    for (std::size_t r0 = 0; r0 < references.size(); r0 += block) {
      const std::size_t r1 = std::min(references.size(), r0 + block);
      const PreparedSet prepared_refs(checked(references.read_range(r0, r1), "reference", r0), r0, settings,
                                      options.threads);
      parallel_for(q1 - q0, options.threads, [&](std::size_t local) {
        const std::size_t q = q0 + local;
        std::vector<float> scratch(detail::kernel_scratch_size(shape));
        std::vector<detail::KernelPlane> ys;
        std::vector<std::int32_t> ids;
        for (std::size_t r = r0; r < r1; ++r)
          if (plan.eligible(q, r)) ids.push_back(static_cast<std::int32_t>(r));
        if (ids.empty()) return;
        std::vector<double> totals(ids.size(), 0.0), sums(ids.size());
        ys.resize(ids.size());
        for (int c = 0; c < channels; ++c) {
          for (std::size_t j = 0; j < ids.size(); ++j) ys[j] = prepared_refs.plane(ids[j], c);
          kernel(shape, prepared_queries.plane(q, c), ys.data(), static_cast<int>(ids.size()), scratch.data(),
                 sums.data());
          for (std::size_t j = 0; j < ids.size(); ++j) totals[j] += sums[j] / prepared_refs.valid_pixels();
        }
        for (std::size_t j = 0; j < ids.size(); ++j) scored[local].push_back({totals[j] / channels, ids[j]});
      });
      if (bar) bar->set(q0 * references.size() + (q1 - q0) * r1);
    }
    std::vector<int> rescored(q1 - q0, 0);
    parallel_for(q1 - q0, options.threads, [&](std::size_t local) {
      const std::size_t q = q0 + local;
      if (options.exact_ties) {
        rescored[local] = resolve_near_ties(scored[local], plan.k, query_images[local], references, options.window);
      }
      select_top_k(scored[local], plan.k, result.indices.data() + q * plan.k, result.scores.data() + q * plan.k);
    });
    for (int r : rescored) result.rescored_pairs += r;
  }
  if (bar) bar->finish();
  return result;
}

}  // namespace

RetrievalResult top_k_ssim(const std::vector<Image>& queries, const std::vector<Image>& references,
                           const RetrievalOptions& options, const std::vector<int>& query_labels,
                           const std::vector<int>& reference_labels) {
  const Plan plan = plan_retrieval(queries, references, options, query_labels, reference_labels);
  return top_k_core(VectorImageStore(queries), VectorImageStore(references), options, plan, false);
}

RetrievalResult top_k_ssim(const ImageStore& queries, const ImageStore& references, const RetrievalOptions& options,
                           const std::vector<int>& query_labels, const std::vector<int>& reference_labels) {
  if (!references.empty() && !queries.empty() &&
      (queries.channels() != references.channels() || queries.height() != references.height() ||
       queries.width() != references.width()))
    throw ConfigError(std::string(kComponent) + ": query images have shape " + std::to_string(queries.channels()) +
                      "x" + std::to_string(queries.height()) + "x" + std::to_string(queries.width()) +
                      " (CxHxW) but reference images have shape " + std::to_string(references.channels()) + "x" +
                      std::to_string(references.height()) + "x" + std::to_string(references.width()) +
                      "; resize both sets to one size and channel count first");
  const Plan plan = plan_retrieval(queries.size(), references.size(), references.channels(), references.height(),
                                   references.width(), options, query_labels, reference_labels);
  return top_k_core(queries, references, options, plan, true);
}

RetrievalResult top_k_ssim_brute_force(const std::vector<Image>& queries, const std::vector<Image>& references,
                                       const RetrievalOptions& options, const std::vector<int>& query_labels,
                                       const std::vector<int>& reference_labels) {
  const Plan plan = plan_retrieval(queries, references, options, query_labels, reference_labels);
  RetrievalResult result = sized_result(queries.size(), plan.k);
  parallel_for(queries.size(), options.threads, [&](std::size_t q) {
    std::vector<Candidate> scored;
    for (std::size_t r = 0; r < references.size(); ++r)
      if (plan.eligible(q, r)) scored.push_back({ssim(queries[q], references[r], options.window), static_cast<std::int32_t>(r)});
    std::sort(scored.begin(), scored.end(), better);
    select_top_k(scored, plan.k, result.indices.data() + q * plan.k, result.scores.data() + q * plan.k);
  });
  return result;
}

namespace {

template <typename ForEachSet>
std::string fingerprint_of(const RetrievalOptions& options, ForEachSet&& hash_sets, const std::vector<int>& query_labels,
                           const std::vector<int>& reference_labels) {
  Hasher hasher;
  hasher.update(std::string("frerec.ssim_top_k.v2;window=") + to_string(options.window) +
                ";pool=" + to_string(options.pool) + ";k=" + std::to_string(options.k) +
                ";leave_one_out=" + (options.leave_one_out ? "1" : "0") + ";exact_ties=" +
                (options.exact_ties ? "1" : "0") + ";");
  hash_sets(hasher);
  if (options.pool == RetrievalPool::kSameClass) {
    hasher.update(std::string("query_labels:") + std::to_string(query_labels.size()) + ";");
    for (int label : query_labels) hasher.update_pod(static_cast<std::int64_t>(label));
    hasher.update(std::string("reference_labels:") + std::to_string(reference_labels.size()) + ";");
    for (int label : reference_labels) hasher.update_pod(static_cast<std::int64_t>(label));
  }
  return hasher.hex();
}

}  // namespace

// Each set enters by its content digest (ImageStore::content_digest, memoised per store), so
// a DR-scale reference set is read once per store however many retrievals use it.
std::string retrieval_fingerprint(const std::vector<Image>& queries, const std::vector<Image>& references,
                                  const RetrievalOptions& options, const std::vector<int>& query_labels,
                                  const std::vector<int>& reference_labels) {
  return retrieval_fingerprint(VectorImageStore(queries), VectorImageStore(references), options, query_labels,
                               reference_labels);
}

std::string retrieval_fingerprint(const ImageStore& queries, const ImageStore& references,
                                  const RetrievalOptions& options, const std::vector<int>& query_labels,
                                  const std::vector<int>& reference_labels) {
  return fingerprint_of(
      options,
      [&](Hasher& hasher) {
        hasher.update("queries:" + queries.content_digest() + ";references:" + references.content_digest() + ";");
      },
      query_labels, reference_labels);
}

}  // namespace frerec::spectral
