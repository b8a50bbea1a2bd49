#!/usr/bin/env bash
# One-command set-up on Debian 12: installs every package FreRec-Bench needs (only those
# missing), then configures and builds the release preset (build/release/frerec).
# Idempotent: running it again only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
frerec_install_packages
frerec_build_release
echo "setup: done — the program is build/release/frerec"
