#include "augmentations/frerec/shr.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "framework/core/error.h"
#include "framework/core/random.h"
#include "framework/spectral/parallel.h"
#include "framework/spectral/validate.h"

namespace frerec::shr {
namespace {

constexpr const char* kComponent = "shr";

Spread parse_spread(const std::string& name) {
  if (name == "mad") return Spread::kMad;
  if (name == "std") return Spread::kStd;
  throw ConfigError("shr: spread '" + name + "' is not known; use 'mad' or 'std'");
}
Normalize parse_normalize(const std::string& name) {
  if (name == "synthetic") return Normalize::kSynthetic;
  if (name == "real") return Normalize::kReal;
  throw ConfigError("shr: normalize '" + name + "' is not known; use 'synthetic' or 'real'");
}
Domain parse_domain(const std::string& name) {
  if (name == "amplitude") return Domain::kAmplitude;
  if (name == "complex") return Domain::kComplex;
  throw ConfigError("shr: domain '" + name + "' is not known; use 'amplitude' or 'complex'");
}
StatsRegion parse_stats_region(const std::string& name) {
  if (name == "high") return StatsRegion::kHigh;
  if (name == "masked") return StatsRegion::kMasked;
  throw ConfigError("shr: stats '" + name + "' is not known; use 'high' or 'masked'");
}
Negative parse_negative(const std::string& name) {
  if (name == "zero") return Negative::kZero;
  if (name == "flip") return Negative::kFlip;
  throw ConfigError("shr: negative '" + name + "' is not known; use 'zero' or 'flip'");
}
const char* to_string(StatsRegion r) { return r == StatsRegion::kHigh ? "high" : "masked"; }
const char* to_string(Spread s) { return s == Spread::kMad ? "mad" : "std"; }
const char* to_string(Normalize n) { return n == Normalize::kSynthetic ? "synthetic" : "real"; }
const char* to_string(Domain d) { return d == Domain::kAmplitude ? "amplitude" : "complex"; }

// The HF values of one centred channel plane, in mask order (row-major over HF bins).
std::vector<std::complex<double>> high_frequency_values(const std::complex<double>* plane,
                                                        const std::vector<std::uint8_t>& low, Domain domain) {
  std::vector<std::complex<double>> values;
  for (std::size_t i = 0; i < low.size(); ++i) {
    if (low[i]) continue;
    values.push_back(domain == Domain::kAmplitude ? std::complex<double>(std::abs(plane[i]), 0.0) : plane[i]);
  }
  return values;
}

// Eq. 1 over the HF values plus `zeros` zero-valued bins (the masked low-frequency region
// when stats = masked; 0 when stats = high).
ChannelStats stats_of(const std::vector<std::complex<double>>& values, Spread spread, std::size_t zeros = 0) {
  ChannelStats s{{0.0, 0.0}, 0.0};
  if (values.empty()) return s;
  const double count = static_cast<double>(values.size() + zeros);
  std::complex<double> sum = 0.0;
  for (const auto& v : values) sum += v;
  s.mean = sum / count;
  double acc = 0.0;
  for (const auto& v : values) {
    const double d = std::abs(v - s.mean);
    acc += spread == Spread::kMad ? d : d * d;
  }
  const double zero_deviation = std::abs(s.mean);
  acc += static_cast<double>(zeros) * (spread == Spread::kMad ? zero_deviation : zero_deviation * zero_deviation);
  acc /= count;
  s.spread = spread == Spread::kMad ? acc : std::sqrt(acc);
  return s;
}

// Low-frequency bins that Eq. 1 counts as zeros (stats = masked), else 0.
std::size_t masked_zeros(const std::vector<std::uint8_t>& low, const ShrOptions& options) {
  if (options.stats != StatsRegion::kMasked) return 0;
  return static_cast<std::size_t>(std::count(low.begin(), low.end(), std::uint8_t{1}));
}

}  // namespace

config::Schema ShrOptions::schema() {
  config::Schema s;
  s.add_float("ratio", 0.5, "low-frequency mask ratio r in (0,1] (paper: 0.5)", 1e-9, 1.0)
      .add_int("k", 200, "number K of real neighbours retrieved by SSIM (paper: 200)", 1)
      .add_string("mask", "square", "shape of the low-frequency region", {"square", "circle"})
      .add_string("spread", "mad", "HF spread statistic: mean absolute deviation (Eq. 1) or std", {"mad", "std"})
      .add_string("normalize", "synthetic",
                  "standardise the synthetic HF by its own statistics (AdaIN) or by the neighbours' means (literal Eq. 3)",
                  {"synthetic", "real"})
      .add_string("domain", "amplitude", "statistics of |F| (phase kept) or of the complex values",
                  {"amplitude", "complex"})
      .add_string("stats", "masked",
                  "Eq. 1 statistics over the high-frequency bins only, or over the whole masked spectrum "
                  "(low-frequency bins counted as 0, the literal 1/H² sums)",
                  {"high", "masked"})
      .add_string("ssim", "gaussian", "SSIM window used for retrieval", {"gaussian", "uniform"})
      .add_string("pool", "all", "retrieval pool: all real images or only those of the same class",
                  {"all", "same_class"})
      .add_int("seed", 0, "seed of the ε draws (one pair per image and channel)", 0)
      .add_float("epsilon_scale", 1.0,
                 "factor on the ε draws of Eq. 3 (1: the paper; 0: deterministic SHR to the neighbours' mean "
                 "statistics, e.g. to measure how much of SHR's change is the random redraw)",
                 0.0, 100.0)
      .add_string("negative", "flip",
                  "domain amplitude: a negative Eq. 3 amplitude becomes 0 (zero) or its magnitude with the phase "
                  "turned by pi (flip: the mapped value times the unit phasor, no clamp)",
                  {"zero", "flip"});
  return s;
}

ShrOptions ShrOptions::from_params(const config::Params& params) {
  ShrOptions o;
  o.ratio = params.get_or<double>("ratio", o.ratio);
  o.k = static_cast<int>(params.get_or<long>("k", o.k));
  if (params.has("mask")) o.mask = spectral::parse_mask_shape(params.get<std::string>("mask"), kComponent);
  if (params.has("spread")) o.spread = parse_spread(params.get<std::string>("spread"));
  if (params.has("normalize")) o.normalize = parse_normalize(params.get<std::string>("normalize"));
  if (params.has("domain")) o.domain = parse_domain(params.get<std::string>("domain"));
  if (params.has("stats")) o.stats = parse_stats_region(params.get<std::string>("stats"));
  if (params.has("ssim")) o.ssim = spectral::parse_ssim_window(params.get<std::string>("ssim"), kComponent);
  if (params.has("pool")) o.pool = spectral::parse_retrieval_pool(params.get<std::string>("pool"), kComponent);
  o.epsilon_scale = params.get_or<double>("epsilon_scale", o.epsilon_scale);
  if (params.has("negative")) o.negative = parse_negative(params.get<std::string>("negative"));
  if (params.has("seed")) {
    const long seed = params.get<long>("seed");
    if (seed < 0) throw ConfigError("shr: seed=" + std::to_string(seed) + " must be non-negative");
    o.seed = static_cast<std::uint64_t>(seed);
  }
  o.validate();
  return o;
}

void ShrOptions::validate() const {
  if (!(ratio > 0.0 && ratio <= 1.0)) {
    char text[64];
    std::snprintf(text, sizeof(text), "%g", ratio);
    throw ConfigError(std::string("shr: mask ratio r=") + text + " must be in (0,1]");
  }
  if (k < 1) throw ConfigError("shr: k=" + std::to_string(k) + " must be at least 1");
  if (!(epsilon_scale >= 0.0 && epsilon_scale <= 100.0)) {
    char text[64];
    std::snprintf(text, sizeof(text), "%g", epsilon_scale);
    throw ConfigError(std::string("shr: epsilon_scale=") + text + " must be in [0,100]");
  }
}

std::string ShrOptions::canonical() const {
  char ratio_text[64];
  std::snprintf(ratio_text, sizeof(ratio_text), "%.17g", ratio);
  // Left out at its default so that existing cache keys stay valid.
  std::string suffix;
  if (epsilon_scale != 1.0) {
    char text[64];
    std::snprintf(text, sizeof(text), ";epsilon_scale=%.17g", epsilon_scale);
    suffix = text;
  }
  // The default flip changed SHR's output (the clamp at 0 was the rule until 2026-12-02), so it
  // is in the key; zero, the old rule, leaves it out and finds the artifacts made with it. The
  // complex domain maps real and imaginary parts, which may be negative, so the rule does not
  // apply there and stays out of its key.
  if (negative == Negative::kFlip && domain == Domain::kAmplitude) suffix += ";negative=flip";
  return std::string("shr.v2;ratio=") + ratio_text + ";k=" + std::to_string(k) + ";mask=" +
         spectral::to_string(mask) + ";spread=" + to_string(spread) + ";normalize=" + to_string(normalize) +
         ";domain=" + to_string(domain) + ";stats=" + to_string(stats) + ";ssim=" + spectral::to_string(ssim) + ";pool=" +
         spectral::to_string(pool) + ";seed=" + std::to_string(seed) + suffix;
}

std::vector<ImageStats> high_frequency_stats(const std::vector<Image>& images, const ShrOptions& options,
                                             int threads) {
  options.validate();
  if (images.empty()) return {};
  spectral::require_uniform_set(images, kComponent, "real");
  const auto low = spectral::low_frequency_mask(images[0].height, images[0].width, options.ratio, options.mask);
  const std::size_t zeros = masked_zeros(low, options);
  std::vector<ImageStats> out(images.size());
  spectral::parallel_for(images.size(), threads, [&](std::size_t i) {
    const auto spectrum = spectral::centred_spectrum<double>(images[i]);
    ImageStats stats;
    for (int c = 0; c < spectrum.channels; ++c)
      stats.push_back(stats_of(high_frequency_values(spectrum.plane(c), low, options.domain), options.spread, zeros));
    out[i] = std::move(stats);
  });
  return out;
}

std::vector<ImageStats> high_frequency_stats(const ImageStore& images, const ShrOptions& options, int threads) {
  options.validate();
  std::vector<ImageStats> out;
  out.reserve(images.size());
  for_each_chunk(images, images.chunk_images(), [&](std::size_t, const std::vector<Image>& chunk) {
    for (auto& stats : high_frequency_stats(chunk, options, threads)) out.push_back(std::move(stats));
  });
  return out;
}

std::vector<ChannelTarget> sample_targets(const std::vector<const ImageStats*>& neighbours, std::uint64_t seed,
                                          std::uint64_t image_index, double epsilon_scale) {
  if (neighbours.empty()) throw RunError("shr: no real neighbours for image " + std::to_string(image_index) +
                                         "; the retrieval pool is empty");
  const std::size_t channels = neighbours[0]->size();
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(image_index), static_cast<std::uint32_t>(image_index >> 32)};
  std::mt19937_64 rng(seq);
  const double k = static_cast<double>(neighbours.size());
  std::vector<ChannelTarget> targets(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    ChannelTarget& t = targets[c];
    std::complex<double> mean_sum = 0.0;
    double spread_sum = 0.0;
    for (const ImageStats* n : neighbours) {
      mean_sum += (*n)[c].mean;
      spread_sum += (*n)[c].spread;
    }
    t.mean_bar = mean_sum / k;
    t.spread_bar = spread_sum / k;
    double var_mean = 0.0, var_spread = 0.0;
    for (const ImageStats* n : neighbours) {
      var_mean += std::norm((*n)[c].mean - t.mean_bar);
      var_spread += ((*n)[c].spread - t.spread_bar) * ((*n)[c].spread - t.spread_bar);
    }
    t.sigma_mean = std::sqrt(var_mean / k);      // Eq. 2: population std over the K neighbours
    t.sigma_spread = std::sqrt(var_spread / k);
    // Box–Muller: one (ε_μ, ε_σ) pair per channel.
    const random::BoxMuller b = random::box_muller(rng);
    t.epsilon_mean = epsilon_scale * b.radius * std::cos(b.angle);
    t.epsilon_spread = epsilon_scale * b.radius * std::sin(b.angle);
    t.mean_hat = t.mean_bar + t.epsilon_mean * t.sigma_mean;
    // A negative spread would flip the HF pattern; the draw is clamped at 0 (decision).
    t.spread_hat = std::max(0.0, t.spread_bar + t.epsilon_spread * t.sigma_spread);
  }
  return targets;
}

Image apply_shr(const Image& synthetic, const std::vector<const ImageStats*>& neighbours, const ShrOptions& options,
                std::uint64_t image_index, std::vector<ChannelTarget>* targets_out,
                std::vector<std::vector<std::complex<double>>>* pre_clamp_hf_out) {
  options.validate();
  spectral::require_non_empty(synthetic, kComponent, "synthetic", image_index);
  spectral::require_finite(synthetic, kComponent, "synthetic", image_index);
  for (const ImageStats* n : neighbours) {
    if (n == nullptr || n->size() != static_cast<std::size_t>(synthetic.channels)) {
      throw ConfigError("shr: synthetic image " + std::to_string(image_index) + " has " +
                        std::to_string(synthetic.channels) + " channels but a real neighbour has " +
                        std::to_string(n == nullptr ? 0 : n->size()) + "; use real and synthetic sets with one channel count");
    }
  }
  const auto targets = sample_targets(neighbours, options.seed, image_index, options.epsilon_scale);
  const auto low = spectral::low_frequency_mask(synthetic.height, synthetic.width, options.ratio, options.mask);
  const std::size_t zeros = masked_zeros(low, options);
  auto spectrum = spectral::centred_spectrum<double>(synthetic);
  if (pre_clamp_hf_out != nullptr) pre_clamp_hf_out->assign(synthetic.channels, {});
  for (int c = 0; c < synthetic.channels; ++c) {
    std::complex<double>* plane = spectrum.plane(c);
    const auto values = high_frequency_values(plane, low, options.domain);
    if (values.empty()) continue;  // r = 1, square mask: nothing is high frequency
    const ChannelTarget& t = targets[c];
    const ChannelStats own = stats_of(values, options.spread, zeros);
    const std::complex<double> centre = options.normalize == Normalize::kSynthetic ? own.mean : t.mean_bar;
    const double scale = options.normalize == Normalize::kSynthetic ? own.spread : t.spread_bar;
    std::size_t v = 0;
    for (std::size_t i = 0; i < low.size(); ++i) {
      if (low[i]) continue;
      const std::complex<double> standardised = scale > 0.0 ? (values[v] - centre) / scale : 0.0;  // Eq. 3
      const std::complex<double> mapped = t.spread_hat * standardised + t.mean_hat;
      if (pre_clamp_hf_out != nullptr) (*pre_clamp_hf_out)[c].push_back(mapped);
      if (options.domain == Domain::kAmplitude) {
        // zero: clamp at 0; flip: mapped · e^{iφ} as it is (|mapped| with the phase + π when negative).
        const double amp = options.negative == Negative::kZero ? std::max(0.0, mapped.real()) : mapped.real();
        plane[i] = amp * std::polar(1.0, std::arg(plane[i]));
      } else {
        plane[i] = mapped;
      }
      ++v;
    }
  }
  Image out = spectral::inverse_centred_spectrum(spectrum);
  for (float& p : out.data) p = std::min(1.0f, std::max(0.0f, p));
  if (targets_out != nullptr) *targets_out = targets;
  return out;
}

std::vector<Image> shr_batch(const std::vector<Image>& synthetic, const std::vector<Image>& real,
                             const spectral::RetrievalResult& neighbours, const ShrOptions& options, int threads,
                             std::uint64_t index_offset) {
  options.validate();
  if (real.empty()) throw RunError("shr: the real image pool is empty; give at least one real image");
  spectral::require_uniform_set(real, kComponent, "real");
  spectral::require_uniform_set(synthetic, kComponent, "synthetic", &real[0], "real image 0");
  // The mapping (and the checks of the retrieval result) are shr_stream's, on views.
  const auto stats = high_frequency_stats(real, options, threads);
  std::vector<Image> out(synthetic.size());
  shr_stream(VectorImageStore(synthetic), VectorImageStore(real), stats, neighbours, options, threads, index_offset,
             [&](std::size_t first, std::vector<Image>&& chunk) {
               for (std::size_t i = 0; i < chunk.size(); ++i) out[first + i] = std::move(chunk[i]);
             });
  return out;
}

void shr_stream(const ImageStore& synthetic, const ImageStore& real, const std::vector<ImageStats>& real_stats,
                const spectral::RetrievalResult& neighbours, const ShrOptions& options, int threads,
                std::uint64_t index_offset, const ImageSink& sink) {
  options.validate();
  if (real.empty()) throw RunError("shr: the real image pool is empty; give at least one real image");
  if (real_stats.size() != real.size())
    throw InternalError("shr: " + std::to_string(real_stats.size()) + " statistics for " + std::to_string(real.size()) +
                        " real images");
  if (!synthetic.empty() && (synthetic.channels() != real.channels() || synthetic.height() != real.height() ||
                             synthetic.width() != real.width()))
    throw ConfigError("shr: synthetic images are " + std::to_string(synthetic.channels()) + "x" +
                      std::to_string(synthetic.height()) + "x" + std::to_string(synthetic.width()) +
                      " (CxHxW) but real images are " + std::to_string(real.channels()) + "x" +
                      std::to_string(real.height()) + "x" + std::to_string(real.width()) +
                      "; resize both sets to one size and channel count first");
  if (neighbours.queries != static_cast<int>(synthetic.size()) || neighbours.k < 1 ||
      neighbours.indices.size() != synthetic.size() * static_cast<std::size_t>(neighbours.k)) {
    throw ConfigError("shr: the retrieval result has " + std::to_string(neighbours.queries) + " rows of k=" +
                      std::to_string(neighbours.k) + " for " + std::to_string(synthetic.size()) +
                      " synthetic images; recompute the retrieval for this set");
  }
  for (std::int32_t idx : neighbours.indices) {
    if (idx < 0 || static_cast<std::size_t>(idx) >= real.size()) {
      throw ConfigError("shr: the retrieval result refers to real image " + std::to_string(idx) + " but only " +
                        std::to_string(real.size()) + " real images were given; recompute the retrieval");
    }
  }
  for_each_chunk(synthetic, synthetic.chunk_images(), [&](std::size_t first, const std::vector<Image>& chunk) {
    std::vector<Image> out(chunk.size());
    spectral::parallel_for(chunk.size(), threads, [&](std::size_t local) {
      const std::size_t i = first + local;
      std::vector<const ImageStats*> picked;
      for (int j = 0; j < neighbours.k; ++j) picked.push_back(&real_stats[neighbours.index(static_cast<int>(i), j)]);
      out[local] = apply_shr(chunk[local], picked, options, index_offset + i);
    });
    sink(first, std::move(out));
  });
}

spectral::RetrievalOptions retrieval_options(const ShrOptions& options, int threads, bool leave_one_out) {
  spectral::RetrievalOptions r;
  r.k = options.k;
  r.window = options.ssim;
  r.pool = options.pool;
  r.leave_one_out = leave_one_out;
  r.threads = std::max(1, threads);
  return r;
}

std::vector<Image> shr_with_retrieval(const std::vector<Image>& synthetic, const std::vector<Image>& real,
                                      const ShrOptions& options, int threads, bool leave_one_out,
                                      const std::vector<int>& synthetic_labels, const std::vector<int>& real_labels) {
  options.validate();
  if (real.empty()) throw RunError("shr: the real image pool is empty; give at least one real image");
  const auto neighbours = spectral::top_k_ssim(synthetic, real, retrieval_options(options, threads, leave_one_out),
                                               synthetic_labels, real_labels);
  return shr_batch(synthetic, real, neighbours, options, threads);
}

}  // namespace frerec::shr
