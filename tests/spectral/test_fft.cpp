#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "framework/core/error.h"
#include "framework/spectral/fft.h"
#include "framework/spectral/spectrum.h"
#include "tests/spectral/test_util.h"

namespace frerec::spectral {
namespace {

using testing::random_image;

template <typename Real>
void round_trip_and_parseval(double tol) {
  for (auto [h, w] : {std::pair{16, 16}, std::pair{15, 22}, std::pair{7, 9}}) {
    const Image img = random_image(3, h, w, 11 + h);
    const auto spec = centred_spectrum<Real>(img);
    const Image back = inverse_centred_spectrum(spec);
    for (std::size_t i = 0; i < img.size(); ++i) ASSERT_NEAR(back.data[i], img.data[i], tol);
    for (int c = 0; c < 3; ++c) {
      double energy_x = 0.0, energy_f = 0.0;
      for (std::size_t i = 0; i < img.plane_size(); ++i) {
        energy_x += static_cast<double>(img.plane(c)[i]) * img.plane(c)[i];
        energy_f += std::norm(std::complex<double>(spec.plane(c)[i]));
      }
      EXPECT_NEAR(energy_f, energy_x, tol * energy_x) << "Parseval, orthonormal FFT";
    }
  }
}

TEST(Fft, RoundTripAndParsevalDouble) { round_trip_and_parseval<double>(1e-6); }
TEST(Fft, RoundTripAndParsevalFloat) { round_trip_and_parseval<float>(2e-6); }

TEST(Fft, MatchesTheDftDefinitionAndNormalisations) {
  const int h = 5, w = 6;
  const Image img = random_image(1, h, w, 3);
  std::vector<std::complex<double>> f(h * w);
  std::vector<double> x(img.data.begin(), img.data.end());
  fft2_real<double>(x.data(), f.data(), h, w, FftNorm::kBackward);
  for (int u = 0; u < h; ++u)
    for (int v = 0; v < w; ++v) {
      std::complex<double> s = 0.0;
      for (int y = 0; y < h; ++y)
        for (int xx = 0; xx < w; ++xx)
          s += x[y * w + xx] * std::polar(1.0, -2 * M_PI * (static_cast<double>(u) * y / h + static_cast<double>(v) * xx / w));
      EXPECT_NEAR(std::abs(f[u * w + v] - s), 0.0, 1e-10);
    }
  std::vector<std::complex<double>> ortho(h * w), fwd(h * w);
  fft2_real<double>(x.data(), ortho.data(), h, w, FftNorm::kOrtho);
  fft2_real<double>(x.data(), fwd.data(), h, w, FftNorm::kForward);
  EXPECT_NEAR(std::abs(ortho[0] * std::sqrt(30.0) - f[0]), 0.0, 1e-10);
  EXPECT_NEAR(std::abs(fwd[0] * 30.0 - f[0]), 0.0, 1e-10);
  // In place inverse with the backward convention restores x.
  fft2<double>(f.data(), f.data(), h, w, FftDirection::kInverse, FftNorm::kBackward);
  for (int i = 0; i < h * w; ++i) EXPECT_NEAR(f[i].real(), x[i], 1e-12);
}

TEST(Fft, ShiftPutsDcAtTheCentreLikeNumpy) {
  const int h = 5, w = 4;
  std::vector<int> in(h * w), out(h * w), back(h * w);
  for (int i = 0; i < h * w; ++i) in[i] = i;
  fftshift2(in.data(), out.data(), h, w);
  EXPECT_EQ(out[(h / 2) * w + w / 2], 0);  // numpy: fftshift moves [0,0] to [h//2, w//2]
  ifftshift2(out.data(), back.data(), h, w);
  EXPECT_EQ(back, in);
  Image constant(1, 8, 6, 0.5f);
  const auto spec = centred_spectrum<double>(constant);
  EXPECT_NEAR(std::abs(spec.data[4 * 6 + 3]), 0.5 * std::sqrt(48.0), 1e-12);
}

TEST(Fft, PlansAreReusedAndBatchesIndependentOfThreads) {
  std::vector<Image> batch;
  for (int i = 0; i < 9; ++i) batch.push_back(random_image(1, 13, 17, 100 + i));
  centred_spectra<float>(batch, 1);
  const std::size_t plans = fft_plan_count();
  const auto one = centred_spectra<float>(batch, 1);
  const auto two = centred_spectra<float>(batch, 2);
  EXPECT_EQ(fft_plan_count(), plans);  // no new plan for a known shape
  for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(one[i].data, two[i].data);
  // Concurrent first use of a new shape from several threads.
  std::vector<std::thread> threads;
  std::vector<Spectrum<double>> out(4);
  for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { out[t] = centred_spectrum<double>(random_image(1, 19, 23, 7)); });
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(out[t].data, out[0].data);
}

TEST(Fft, AmplitudePhaseAndLogAmplitude) {
  const Image img = random_image(1, 8, 8, 5);
  const auto spec = centred_spectrum<double>(img);
  const auto amp = amplitude(spec), ph = phase(spec), la = log_amplitude(spec);
  for (std::size_t i = 0; i < amp.size(); ++i) {
    EXPECT_NEAR(std::abs(std::polar(amp[i], ph[i]) - spec.data[i]), 0.0, 1e-12);
    EXPECT_NEAR(la[i], std::log(amp[i] + 1e-8), 1e-12);
  }
}

TEST(Masks, SquareAndCircleFollowTheDocumentedRule) {
  const auto full = low_frequency_mask(10, 12, 1.0, MaskShape::kSquare);
  for (auto m : full) EXPECT_EQ(m, 1);
  const auto sq = low_frequency_mask(16, 20, 0.5, MaskShape::kSquare);
  int count = 0;
  for (auto m : sq) count += m;
  EXPECT_EQ(count, 9 * 11);  // |ky| ≤ 4, |kx| ≤ 5
  EXPECT_EQ(sq[8 * 20 + 10], 1);  // DC
  EXPECT_EQ(sq[3 * 20 + 10], 0);  // ky = −5
  const auto circle = low_frequency_mask(16, 16, 1.0, MaskShape::kCircle);
  EXPECT_EQ(circle[0], 0);         // corner stays high frequency
  EXPECT_EQ(circle[8 * 16 + 0], 1);  // kx = −8 on the axis: radius 8 = diameter/2
  // Conjugate symmetry: (ky,kx) and (−ky,−kx) agree (odd size: exact everywhere).
  const auto odd = low_frequency_mask(15, 21, 0.37, MaskShape::kCircle);
  for (int y = 0; y < 15; ++y)
    for (int x = 0; x < 21; ++x) EXPECT_EQ(odd[y * 21 + x], odd[(14 - y) * 21 + (20 - x)]);
  EXPECT_THROW(low_frequency_mask(8, 8, 0.0, MaskShape::kSquare), ConfigError);
  EXPECT_THROW(low_frequency_mask(8, 8, 1.4, MaskShape::kSquare), ConfigError);
  EXPECT_THROW(low_frequency_mask(0, 8, 0.5, MaskShape::kSquare), ConfigError);
  EXPECT_THROW(parse_mask_shape("triangle", "test"), ConfigError);
}

TEST(Fft, BadSizes) {
  std::vector<std::complex<float>> buf(4);
  EXPECT_THROW(fft2<float>(buf.data(), buf.data(), 0, 4, FftDirection::kForward), ConfigError);
  EXPECT_THROW(centred_spectrum<float>(Image()), ConfigError);
}

}  // namespace
}  // namespace frerec::spectral
