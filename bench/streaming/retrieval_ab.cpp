// The retrieval A/B of bench/streaming/retrieval_ab.sh: the driver of an earlier commit (compiled into
// namespace spectral_old by the script) against the current one, same inputs, same process.
#include <ctime>
#include <cstdio>
#include <random>
#include "framework/spectral/retrieval.h"
namespace frerec::spectral_old {
frerec::spectral::RetrievalResult top_k_ssim(const std::vector<frerec::Image>&, const std::vector<frerec::Image>&,
    const frerec::spectral::RetrievalOptions&, const std::vector<int>&, const std::vector<int>&);
}
using namespace frerec;
static Image img(int s, unsigned seed) {
  std::mt19937 r(seed); Image im(1, s, s);
  for (int y = 0; y < s; ++y) for (int x = 0; x < s; ++x)
    im.at(0, y, x) = 0.5f + 0.3f * std::sin(0.05f * x + seed) * std::cos(0.07f * y) + 0.05f * (r() % 1000) / 1000.f;
  return im;
}
static double cpu() { timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main() {
  std::vector<Image> q, r;
  for (int i = 0; i < 64; ++i) q.push_back(img(256, i));
  for (int i = 0; i < 128; ++i) r.push_back(img(256, 1000 + i));
  spectral::RetrievalOptions o; o.k = 16; o.threads = 1;
  double t_old = 0, t_new = 0;
  for (int rep = 0; rep < 4; ++rep) {
    double a = cpu(); auto x = spectral_old::top_k_ssim(q, r, o, {}, {}); double b = cpu();
    auto y = spectral::top_k_ssim(q, r, o); double c = cpu();
    t_old += b - a; t_new += c - b;
    if (x.indices != y.indices) { std::printf("DIFFERENT RESULTS\n"); return 1; }
  }
  std::printf("pairs per CPU-second: old %.0f new %.0f\n", 4 * 64 * 128 / t_old, 4 * 64 * 128 / t_new);
}
