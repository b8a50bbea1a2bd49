#!/usr/bin/env bash
# A/B of the SSIM retrieval driver: framework/spectral/retrieval.cpp as of COMMIT (default
# e16de35, before streaming) against the built tree's, in one process under the same load,
# alternating 4 times on 64 queries × 128 references of 256² (k = 16, 1 thread). Prints pairs
# per CPU-second of each and fails if their neighbour lists differ. Needs build/release.
#   bench/streaming/retrieval_ab.sh [COMMIT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
commit=${1:-e16de35}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$root" show "$commit:framework/spectral/retrieval.cpp" > "$tmp/old.cpp"
# The old driver in its own namespace, without the helpers both versions define.
/usr/bin/python3 - "$tmp/old.cpp" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('#include "framework/spectral/retrieval.h"', '#include "framework/spectral/retrieval.h"\n#include "framework/spectral/ssim.h"')
s = s.replace('namespace frerec::spectral {', 'namespace frerec::spectral_old {\nusing namespace frerec::spectral;', 1)
a = s.index('RetrievalPool parse_retrieval_pool(')
s = s[:a] + s[s.index('namespace {', a):]
s = s[:s.index('RetrievalResult top_k_ssim_brute_force(')] + '}  // namespace frerec::spectral_old\n'
open(p, 'w').write(s)
PY
b="$root/build/release"
g++ -O3 -std=c++17 -I"$root" -I/usr/include/hdf5/serial "$root/bench/streaming/retrieval_ab.cpp" "$tmp/old.cpp" -o "$tmp/ab" \
  "$b/framework/spectral/libfrerec_spectral.a" "$b/framework/libfrerec_framework.a" $(pkg-config --libs fftw3) \
  -lspdlog -lfmt -lyaml-cpp -lhdf5_serial -lpthread
"$tmp/ab"
