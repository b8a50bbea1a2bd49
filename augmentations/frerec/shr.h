// SHR — Statistical High-frequency Replacement (FreRec paper, Eq. 1–3; our reading in
// shared/DESIGN.md §4 "SHR", every option there is configurable).
//
// Layout: frerec::Image, float32 [C,H,W] in [0,1]; any C (1 or 3 in practice), H ≠ W fine.
// Per channel c of a synthetic image x^S with spectrum F = fftshift(fft2(x)) (orthonormal):
//   HF region  = the complement of the low-frequency mask (framework/spectral/spectrum.h;
//                `mask: square|circle`, ratio r, default 0.5).
//   Eq. 1      for each of the K real neighbours (top-K SSIM, framework/spectral/retrieval.h):
//              μ_k = mean of the HF values, σ_k = mean |value − μ_k| (`spread: mad`, as Eq. 1
//              is written) or the population std (`spread: std`).
//   Eq. 2      Σ_μ, Σ_σ = population std of μ_k, σ_k over the K neighbours; μ̄, σ̄ their means.
//   Eq. 3      μ̂ = μ̄ + ε_μ Σ_μ, σ̂ = σ̄ + ε_σ Σ_σ, ε ~ N(0,1), one (ε_μ, ε_σ) per image and
//              channel; new HF = σ̂ · (F^h − μ_S)/σ_S + μ̂ with μ_S, σ_S the synthetic
//              image's own HF statistics (`normalize: synthetic`, AdaIN form, default) or
//              μ̄, σ̄ (`normalize: real`, the literal Eq. 3).
//   Region     `stats: masked` (default): Eq. 1 read literally — the sums run over the whole
//              H×W grid of the masked spectrum F^h (low-frequency bins are 0 there) and divide
//              by H·W, so μ = (1−a)·μ_HF and the zeros enter σ (a = low-frequency area
//              fraction). `stats: high`: μ, σ over the HF bins only. Eq. 3 maps the HF bins in
//              both. Why this default: docs/decisions.md "SHR: which reading of Eq. 1–3".
//   Values     `domain: amplitude` (default): statistics of |F| on the HF region; the new
//              amplitude (Eq. 3's value, which can be negative) times the bin's unit
//              phasor: a negative value becomes its magnitude with the phase turned by π
//              (`negative: flip`, default); `negative: zero` clamps it at 0 instead, which
//              leaves exact holes in the spectrum (docs/decisions.md "SHR: negative amplitudes").
//              `domain: complex`: Eq. 1 taken literally on the complex HF values (μ complex,
//              σ = mean modulus of the deviations, Σ_μ = sqrt(mean |μ_k − μ̄|²)); ε stays real;
//              no clamp (amplitudes are not separated).
//   Output     low frequencies untouched, inverse FFT, real part, clip to [0,1].
//
// Decisions where the paper is silent (for DESIGN.md §4):
//  * RNG: std::mt19937_64 seeded with seed_seq{seed, image index} (two 32-bit halves
//    each); ε from our own Box–Muller on 53-bit uniforms (std::normal_distribution differs
//    between standard libraries): ε_μ = ρ cos θ, ε_σ = ρ sin θ, one pair per channel in
//    channel order. Results therefore depend only on (seed, image index), never on the
//    thread count. Batch APIs use the image's position in the batch plus `index_offset`.
//  * A sampled σ̂ below 0 (ε_σ very negative) is clamped to 0: a negative spread would
//    invert the HF pattern.
//  * Degenerate spread: when the normaliser (σ_S, or σ̄ for `normalize: real`) is 0 the
//    standardised term is taken as 0 (all HF values become μ̂).
//  * An empty HF region (square mask, r = 1) leaves the spectrum unchanged: the output is
//    the FFT round trip of the input (identity to ~1e-7).
//  * Neighbour statistics are computed once per real image (high_frequency_stats) and
//    shared by every synthetic image; with `pool: same_class`, labels choose the pool.
//  * The mask is conjugate-symmetric (spectrum.h), so the amplitude-domain output is real
//    up to rounding before the real part is taken.
#pragma once

#include <complex>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "framework/config/schema.h"
#include "framework/core/image.h"
#include "framework/core/image_store.h"
#include "framework/spectral/retrieval.h"
#include "framework/spectral/spectrum.h"

namespace frerec::shr {

enum class Spread { kMad, kStd };
enum class Normalize { kSynthetic, kReal };
enum class Domain { kAmplitude, kComplex };
enum class StatsRegion { kHigh, kMasked };
enum class Negative { kZero, kFlip };

struct ShrOptions {
  double ratio = 0.5;                                   // r: low-frequency mask ratio, (0,1]
  int k = 200;                                          // K real neighbours by SSIM
  spectral::MaskShape mask = spectral::MaskShape::kSquare;
  Spread spread = Spread::kMad;
  Normalize normalize = Normalize::kSynthetic;
  Domain domain = Domain::kAmplitude;
  StatsRegion stats = StatsRegion::kMasked;
  spectral::SsimWindow ssim = spectral::SsimWindow::kGaussian;
  spectral::RetrievalPool pool = spectral::RetrievalPool::kAll;
  std::uint64_t seed = 0;
  double epsilon_scale = 1.0;  // factor on ε (1: Eq. 3; 0: μ̂ = μ̄, σ̂ = σ̄, deterministic)
  Negative negative = Negative::kFlip;  // domain amplitude: a negative Eq. 3 value → |·| with the phase + π, or 0

  // Keys: ratio, k, mask, spread, normalize, domain, stats, ssim, pool, seed, epsilon_scale, negative.
  static config::Schema schema();
  static ShrOptions from_params(const config::Params& params);
  void validate() const;           // ConfigError naming the key and value
  std::string canonical() const;   // "ratio=0.5;k=200;..." for cache keys
};

// HF statistics of one channel (Eq. 1). mean is real in the amplitude domain.
struct ChannelStats {
  std::complex<double> mean;
  double spread = 0.0;
};
using ImageStats = std::vector<ChannelStats>;  // one per channel

// Eq. 1 for every image of a set (typically the real training set, computed once).
std::vector<ImageStats> high_frequency_stats(const std::vector<Image>& images, const ShrOptions& options,
                                             int threads);

// Eq. 2–3 target statistics sampled for one image: what its HF values are mapped to.
struct ChannelTarget {
  std::complex<double> mean_hat;   // μ̂
  double spread_hat = 0.0;         // σ̂
  std::complex<double> mean_bar;   // μ̄
  double spread_bar = 0.0;         // σ̄
  double sigma_mean = 0.0;         // Σ_μ
  double sigma_spread = 0.0;       // Σ_σ
  double epsilon_mean = 0.0, epsilon_spread = 0.0;
};
// ε is multiplied by epsilon_scale (ShrOptions::epsilon_scale; 1 = Eq. 3) after it is drawn,
// so the draw sequence does not depend on it.
std::vector<ChannelTarget> sample_targets(const std::vector<const ImageStats*>& neighbours, std::uint64_t seed,
                                          std::uint64_t image_index, double epsilon_scale = 1.0);

// SHR of one image given its neighbours' statistics. `targets_out` (optional) receives the
// sampled targets; `pre_clamp_hf_out` (optional) receives, per channel, the new HF values
// before clamping (amplitudes, or complex moduli for domain complex), in mask order.
Image apply_shr(const Image& synthetic, const std::vector<const ImageStats*>& neighbours, const ShrOptions& options,
                std::uint64_t image_index, std::vector<ChannelTarget>* targets_out = nullptr,
                std::vector<std::vector<std::complex<double>>>* pre_clamp_hf_out = nullptr);

// Batch SHR with precomputed retrieval (neighbours.indices index into `real`, one row per
// synthetic image), so the retrieval can come from the artifact cache. Image i uses
// ε seeded by (options.seed, index_offset + i).
std::vector<Image> shr_batch(const std::vector<Image>& synthetic, const std::vector<Image>& real,
                             const spectral::RetrievalResult& neighbours, const ShrOptions& options, int threads,
                             std::uint64_t index_offset = 0);

// Streaming forms (issue 18: paper-scale sets never held whole). high_frequency_stats of a
// store reads it in chunks (same numbers as the vector form). shr_stream maps the synthetic
// store chunk by chunk with the precomputed statistics of `real` (same numbers as
// shr_batch) and hands every chunk's output, in order, to sink(first_index, images).
std::vector<ImageStats> high_frequency_stats(const ImageStore& images, const ShrOptions& options, int threads);
using ImageSink = std::function<void(std::size_t first, std::vector<Image>&& images)>;
void shr_stream(const ImageStore& synthetic, const ImageStore& real, const std::vector<ImageStats>& real_stats,
                const spectral::RetrievalResult& neighbours, const ShrOptions& options, int threads,
                std::uint64_t index_offset, const ImageSink& sink);

// Convenience: top-K SSIM retrieval (options.k, options.ssim, options.pool) then shr_batch.
// `leave_one_out` when `synthetic` is `real` itself (RHM training inputs). Labels only for
// pool same_class.
std::vector<Image> shr_with_retrieval(const std::vector<Image>& synthetic, const std::vector<Image>& real,
                                      const ShrOptions& options, int threads, bool leave_one_out = false,
                                      const std::vector<int>& synthetic_labels = {},
                                      const std::vector<int>& real_labels = {});

// Retrieval options SHR uses (k, window, pool) for the given thread count.
spectral::RetrievalOptions retrieval_options(const ShrOptions& options, int threads, bool leave_one_out);

}  // namespace frerec::shr
