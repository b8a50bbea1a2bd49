// FESA local frequency branch (paper Eq. 5; shared/DESIGN.md §4 "RHM") and the polar
// pooling it needs. Input: the layer-normed feature x [N,C,H,W] of a FET block; output
// [N,C,H,W] that the block concatenates with the MDTA output (models/restoration/restormer.h).
//
//   S_c    = fft2(x_c, norm="ortho")                   per channel c, complex [N,C,H,W]
//   F_spe  = fftshift(mean_c |S_c|)                    the amplitude spectrum average-pooled
//                                                      over channels, [N,H,W] (2R × 2R × 1)
//   F_fre  = polar_pool(F_spe)                         [N,1,P,R/d], mean over each (angle, ring) cell
//   G      = sigmoid(Conv3x3(F_fre)),  V = Conv3x3(F_fre)
//   A'     = polar_unpool(G ⊙ V)                       every pixel takes its cell's value, [N,H,W]
//   y_c    = Re ifft2(ifftshift(A') · S_c/|S_c|, "ortho")   the refined amplitude map with each
//                                                      channel's own phase, inverse FFT per channel
//   out    = Conv1x1(y): C -> C channels               (the C_1 of Eq. 5)
//
// Why per channel and not the FFT of the channel mean: the channel mean of a layer-normed
// feature is identically 0 while the LayerNorm keeps its initial affine parameters (and
// stays small after), so its spectrum — and its phase — would be rounding noise.
//
// Decisions where the paper is silent (listed for DESIGN.md §4):
//   * Centre of the shifted spectrum = (H/2, W/2) (integer division: where fftshift puts DC).
//     Radius r = sqrt(dy²+dx²) in pixels; ring = floor(r/d). R = ceil(max(H,W)/2), so there are
//     ceil(R/d) rings (P × R/d as the paper writes for a 2R × 2R spectrum); the corner pixels
//     beyond R fall into the outermost ring.
//   * Angle θ = atan2(dy, dx) ∈ (−π, π]; bin = floor((θ+π)/(2π)·P) mod P. DC sits in ring 0.
//   * F_fre is laid out [P rows (angle), R/d columns (ring)]. The 3×3 convolutions pad the
//     angle axis circularly (angle wraps around) and the ring axis with zeros. Both convs map
//     1 -> 1 channel with bias.
//   * Cells no pixel falls into (possible in the innermost rings) hold 0; unpooling never reads them.
//   * Phase = S/max(|S|, 1e-8) (no atan2/angle, so gradients stay finite at S = 0).
//   * Pixel -> cell index maps are built once per (H, W, d, P, device) and cached process-wide;
//     pooling = index_add / cell count, unpooling = index_select (both differentiable).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace frerec::restoration {

struct PolarGrid {
  int64_t height = 0, width = 0, ring_width = 0, angular_bins = 0, rings = 0;
  torch::Tensor cell_of_pixel;  // int64 [H*W]: angle_bin * rings + ring
  torch::Tensor inverse_count;  // float [P*rings]: 1/(pixels in cell), 0 for empty cells
  int64_t cells() const { return angular_bins * rings; }
};

// Cached per (height, width, ring_width, angular_bins, device). Throws ConfigError on d < 1 or P < 1.
PolarGrid polar_grid(int64_t height, int64_t width, int64_t ring_width, int64_t angular_bins,
                     const torch::Device& device);
// [N,H,W] centred spectrum -> [N,P,R/d] cell means.
torch::Tensor polar_pool(const torch::Tensor& centred, const PolarGrid& grid);
// [N,P,R/d] -> [N,H,W]: each pixel takes its cell's value.
torch::Tensor polar_unpool(const torch::Tensor& cells, const PolarGrid& grid);

class FrequencyBranchImpl : public torch::nn::Module {
 public:
  // `project` is the 1×1 convolution C -> C of Eq. 5 (bias as the network's `bias` option).
  FrequencyBranchImpl(int64_t channels, int64_t ring_width, int64_t angular_bins, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d gate{nullptr}, refine{nullptr}, project{nullptr};

 private:
  int64_t ring_width_, angular_bins_;
};
TORCH_MODULE(FrequencyBranch);

}  // namespace frerec::restoration
