#!/usr/bin/env bash
# Builds the release preset (installing missing Debian packages first) and runs the whole
# test suite through ctest, ending with ctest's summary. Extra arguments go to ctest
# (e.g. scripts/test.sh -R spectral).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
frerec_install_packages
frerec_build_release
jobs=$(nproc)
ctest --test-dir build/release --output-on-failure -j "$jobs" "$@"
