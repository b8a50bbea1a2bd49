#!/usr/bin/env bash
# Peak memory and wall time of `frerec calibrate` with a DR-scale real pool (issue 18):
# 27,000 real fundus-like images of 224² RGB (16.3 GB as float32) and a synthetic folder.
#
#   bench/streaming/dr_calibrate.sh [WORK] [N_REAL] [N_SYNTHETIC] [DAE_TRAIN_IMAGES]
#   (defaults: /tmp/dr 27000 100 100; the folders are generated once, ~25 min on 2 cores)
#
# Writes WORK/report.md: /usr/bin/time -v's peak RSS and wall time, and calibrate's own
# stage timings. The auto-encoder is the demo network (dim 16) trained for 20 steps: its
# memory does not depend on the set sizes, and the paper's 27,000 × 27,000 leave-one-out
# SSIM search is ~27 h on 2 cores, so it trains on the first DAE_TRAIN_IMAGES real images
# (dae_train_images) while SHR's neighbours come from all N_REAL. Everything else — folder
# ingest into the image store, fingerprints, retrieval, SHR statistics, SHR, inference,
# writing, quality and spectral gaps — runs on the full real pool.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-/tmp/dr}
n_real=${2:-27000}
n_synthetic=${3:-100}
dae_images=${4:-100}
frerec=${FREREC:-$root/build/release/frerec}
mkdir -p "$work"
if [ "$(find "$work/real" -name '*.png' 2>/dev/null | wc -l)" -lt "$n_real" ]; then
  /usr/bin/python3 "$here/make_folder.py" "$work/real" "$n_real" --seed 0
fi
if [ "$(find "$work/synthetic" -name '*.png' 2>/dev/null | wc -l)" -lt "$n_synthetic" ]; then
  /usr/bin/python3 "$here/make_folder.py" "$work/synthetic" "$n_synthetic" --seed 1
fi
# A cold run decodes both folders into the cache (kind `folder`, ~2.5 min for 27,000 PNGs);
# later runs keep those stores (delete WORK/cache for a cold run) and rebuild the rest.
rm -rf "$work/out"
if [ -d "$work/cache" ]; then find "$work/cache" -mindepth 1 -maxdepth 1 ! -name folder -exec rm -rf {} +; fi
/usr/bin/time -v "$frerec" --threads 2 --cache-dir "$work/cache" calibrate --real "$work/real" \
  --synthetic "$work/synthetic" --out "$work/out" --stage full dae_train_images="$dae_images" \
  dae.network.dim=16 'dae.network.num_blocks=[1,1,1,1]' dae.network.num_refinement_blocks=0 \
  'dae.network.heads=[1,2,4,8]' dae.epochs=1 dae.steps_per_epoch=20 dae.batch_size=4 dae.patch_size=64 \
  > "$work/calibrate.log" 2> "$work/time.log"
peak_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.log")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.log")
{
  echo "# DR-scale calibrate: $n_real real + $n_synthetic synthetic, 224² RGB, dae_train_images=$dae_images"
  echo
  echo "- peak RSS: $((peak_kb / 1024)) MiB"
  echo "- wall time: $wall"
  echo "- store and cache on disk: $(du -sh "$work/cache" | cut -f1)"
  echo
  /usr/bin/python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['timings']; print('\n'.join(f'- {k}: {v:.0f} s' for k, v in t.items()))" "$work/out/calibration.json"
} > "$work/report.md"
cat "$work/report.md"
