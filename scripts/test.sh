#!/usr/bin/env bash
# Builds the release preset (installing missing Debian packages first), runs the whole test
# suite through ctest, then each libFuzzer target for FREREC_FUZZ_SECONDS (default 60; 0
# skips; scripts/fuzz.sh). Extra arguments go to ctest (e.g. scripts/test.sh -R spectral).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
frerec_install_packages
frerec_build_release
jobs=$(nproc)
ctest --test-dir build/release --output-on-failure -j "$jobs" "$@"
fuzz_seconds=${FREREC_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ]; then
  FREREC_FUZZ_JOBS=$jobs scripts/fuzz.sh "$fuzz_seconds"
fi
