#include "framework/spectral/fft.h"

#include <fftw3.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "framework/core/error.h"

namespace frerec::spectral {
namespace {

// Precision traits over FFTW's two APIs.
template <typename Real>
struct Fftw;

template <>
struct Fftw<double> {
  using Plan = fftw_plan;
  using Cplx = fftw_complex;
  static void* alloc(std::size_t bytes) { return fftw_malloc(bytes); }
  static void release(void* p) { fftw_free(p); }
  static Plan plan(int h, int w, Cplx* in, Cplx* out, int sign) {
    return fftw_plan_dft_2d(h, w, in, out, sign, FFTW_ESTIMATE);
  }
  static void execute(Plan p, Cplx* in, Cplx* out) { fftw_execute_dft(p, in, out); }
  static int alignment_of(void* p) { return fftw_alignment_of(static_cast<double*>(p)); }
};

template <>
struct Fftw<float> {
  using Plan = fftwf_plan;
  using Cplx = fftwf_complex;
  static void* alloc(std::size_t bytes) { return fftwf_malloc(bytes); }
  static void release(void* p) { fftwf_free(p); }
  static Plan plan(int h, int w, Cplx* in, Cplx* out, int sign) {
    return fftwf_plan_dft_2d(h, w, in, out, sign, FFTW_ESTIMATE);
  }
  static void execute(Plan p, Cplx* in, Cplx* out) { fftwf_execute_dft(p, in, out); }
  static int alignment_of(void* p) { return fftwf_alignment_of(static_cast<float*>(p)); }
};

// FFTW's planner (and fftw_malloc bookkeeping of plans) is process-global and not
// thread-safe: one mutex guards every planner call. Plans are never destroyed (they live
// as long as the process, like FFTW's own wisdom).
std::mutex& planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::size_t& plan_counter() {
  static std::size_t count = 0;
  return count;
}

template <typename Real>
typename Fftw<Real>::Plan get_plan(int height, int width, FftDirection direction) {
  using Traits = Fftw<Real>;
  // Guarded by planner_mutex. Deliberately immortal (never destroyed, so no static
  // destruction order problem at exit, and leak checkers see it as reachable).
  static auto& plans = *new std::map<std::tuple<int, int, int>, typename Traits::Plan>();
  const int sign = direction == FftDirection::kForward ? FFTW_FORWARD : FFTW_BACKWARD;
  std::lock_guard<std::mutex> lock(planner_mutex());
  const auto key = std::make_tuple(height, width, sign);
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  const std::size_t bytes = sizeof(typename Traits::Cplx) * static_cast<std::size_t>(height) * width;
  auto* in = static_cast<typename Traits::Cplx*>(Traits::alloc(bytes));
  auto* out = static_cast<typename Traits::Cplx*>(Traits::alloc(bytes));
  typename Traits::Plan plan = Traits::plan(height, width, in, out, sign);
  Traits::release(in);
  Traits::release(out);
  if (plan == nullptr) {
    throw RunError("fft: FFTW could not create a " + std::to_string(height) + "x" + std::to_string(width) + " plan");
  }
  plans.emplace(key, plan);
  ++plan_counter();
  return plan;
}

template <typename Real>
struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t n) : data(static_cast<std::complex<Real>*>(Fftw<Real>::alloc(n * sizeof(std::complex<Real>)))) {
    if (data == nullptr) throw RunError("fft: out of memory for a scratch buffer of " + std::to_string(n) + " values");
  }
  ~AlignedBuffer() { Fftw<Real>::release(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  std::complex<Real>* data;
};

void check_size(int height, int width) {
  if (height <= 0 || width <= 0) {
    throw ConfigError("fft: image size " + std::to_string(height) + "x" + std::to_string(width) +
                      " must be positive in both dimensions");
  }
}

template <typename Real>
Real scale_for(int height, int width, FftDirection direction, FftNorm norm) {
  const double n = static_cast<double>(height) * width;
  switch (norm) {
    case FftNorm::kOrtho: return static_cast<Real>(1.0 / std::sqrt(n));
    case FftNorm::kBackward: return direction == FftDirection::kForward ? Real(1) : static_cast<Real>(1.0 / n);
    case FftNorm::kForward: return direction == FftDirection::kForward ? static_cast<Real>(1.0 / n) : Real(1);
  }
  return Real(1);
}

}  // namespace

template <typename Real>
void fft2(const std::complex<Real>* in, std::complex<Real>* out, int height, int width, FftDirection direction,
          FftNorm norm) {
  using Traits = Fftw<Real>;
  check_size(height, width);
  const std::size_t n = static_cast<std::size_t>(height) * width;
  auto plan = get_plan<Real>(height, width, direction);
  // The plan was made on fftw_malloc'd (aligned) out-of-place arrays: the new-array
  // execute requires the same alignment and out-of-place arguments.
  const bool aligned = Traits::alignment_of(const_cast<std::complex<Real>*>(in)) == 0 &&
                       Traits::alignment_of(out) == 0;
  const Real scale = scale_for<Real>(height, width, direction, norm);
  if (aligned && in != out) {
    Traits::execute(plan, reinterpret_cast<typename Traits::Cplx*>(const_cast<std::complex<Real>*>(in)),
                    reinterpret_cast<typename Traits::Cplx*>(out));
  } else {
    AlignedBuffer<Real> src(n), dst(n);
    std::memcpy(static_cast<void*>(src.data), in, n * sizeof(std::complex<Real>));
    Traits::execute(plan, reinterpret_cast<typename Traits::Cplx*>(src.data),
                    reinterpret_cast<typename Traits::Cplx*>(dst.data));
    std::memcpy(static_cast<void*>(out), dst.data, n * sizeof(std::complex<Real>));
  }
  if (scale != Real(1)) {
    for (std::size_t i = 0; i < n; ++i) out[i] *= scale;
  }
}

template <typename Real>
void fft2_real(const Real* in, std::complex<Real>* out, int height, int width, FftNorm norm) {
  check_size(height, width);
  const std::size_t n = static_cast<std::size_t>(height) * width;
  AlignedBuffer<Real> src(n);
  for (std::size_t i = 0; i < n; ++i) src.data[i] = std::complex<Real>(in[i], Real(0));
  fft2<Real>(src.data, out, height, width, FftDirection::kForward, norm);
}

std::size_t fft_plan_count() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  return plan_counter();
}

template void fft2<float>(const std::complex<float>*, std::complex<float>*, int, int, FftDirection, FftNorm);
template void fft2<double>(const std::complex<double>*, std::complex<double>*, int, int, FftDirection, FftNorm);
template void fft2_real<float>(const float*, std::complex<float>*, int, int, FftNorm);
template void fft2_real<double>(const double*, std::complex<double>*, int, int, FftNorm);

}  // namespace frerec::spectral
