#!/usr/bin/env bash
# Image quality and spectral gap of every reading of the paper's SHR (Eq. 1-3) that the text
# allows, measured through the real pipeline (`frerec datasets export` + `frerec calibrate
# --stage shr`). Prints one Markdown table (docs/decisions.md "SHR: which reading of Eq. 1-3").
#
#   bench/spectral/shr_readings.sh [FRERC_BINARY] [WORK_DIR]
#
# Sets: the three demo tasks at 64² (real = the train split, synthetic = the shipped GAN's
# pool, 400 + 400 each) and 256² demo_mri slices whose "synthetic" images are held-out real
# slices given a generator-like artefact (2x nearest up-sampling of a half-resolution copy,
# then a 3x3 box smoothing, the checkerboard of transposed-conv generators; made by
# shr_readings_artefact.py with Debian's python3-numpy/python3-pil).
# PSNR/SSIM compare SHR(x) with x, as the paper's Table 3 does; the spectral gap is the
# high-band mean |profile difference| to the real set (frerec spectra).
set -euo pipefail
bin=${1:-build/release/frerec}
work=${2:-/tmp/frerec_shr_readings}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
F=("$bin" --threads "$(nproc)" --cache-dir "$work/cache" -q)

export_task() {  # name dir overrides...
  local name=$1 dir=$2; shift 2
  [ -d "$dir/train" ] || "${F[@]}" datasets export "$name" --out "$dir" "$@" >/dev/null
}
for task in demo_mri demo_cxr demo_fundus; do
  export_task "$task" "$work/$task" counts.train.positive=400 counts.train.negative=400 \
    counts.test.positive=10 counts.test.negative=10 counts.synthetic.positive=100 counts.synthetic.negative=100 \
    synthetic.name=gan synthetic.gan.checkpoint=builtin
done
export_task demo_mri "$work/mri256" image_size=256 counts.train.positive=200 counts.train.negative=200 \
  counts.test.positive=50 counts.test.negative=50 synthetic.name=none
[ -d "$work/mri256/synthetic" ] || /usr/bin/python3 "$here/shr_readings_artefact.py" "$work/mri256/test" "$work/mri256/synthetic"

readings=(
  "AdaIN, amplitude, HF-only stats, r=0.5 (default before)|shr.normalize=synthetic shr.domain=amplitude shr.stats=high shr.ratio=0.5"
  "AdaIN, amplitude, masked-spectrum stats, r=0.5|shr.normalize=synthetic shr.domain=amplitude shr.stats=masked shr.ratio=0.5"
  "AdaIN, complex, HF-only stats, r=0.5|shr.normalize=synthetic shr.domain=complex shr.stats=high shr.ratio=0.5"
  "AdaIN, complex, masked-spectrum stats, r=0.5|shr.normalize=synthetic shr.domain=complex shr.stats=masked shr.ratio=0.5"
  "literal Eq. 3, amplitude, HF-only stats, r=0.5|shr.normalize=real shr.domain=amplitude shr.stats=high shr.ratio=0.5"
  "literal Eq. 3, amplitude, masked-spectrum stats, r=0.5|shr.normalize=real shr.domain=amplitude shr.stats=masked shr.ratio=0.5"
  "literal Eq. 3, complex, HF-only stats, r=0.5|shr.normalize=real shr.domain=complex shr.stats=high shr.ratio=0.5"
  "literal Eq. 3, complex, masked-spectrum stats, r=0.5|shr.normalize=real shr.domain=complex shr.stats=masked shr.ratio=0.5"
  "AdaIN, amplitude, HF-only stats, r=0.25|shr.normalize=synthetic shr.domain=amplitude shr.stats=high shr.ratio=0.25"
  "AdaIN, complex, HF-only stats, r=0.25|shr.normalize=synthetic shr.domain=complex shr.stats=high shr.ratio=0.25"
  "literal Eq. 3, complex, masked-spectrum stats, r=0.25|shr.normalize=real shr.domain=complex shr.stats=masked shr.ratio=0.25"
)
sets=("demo_mri 64²|$work/demo_mri/train|$work/demo_mri/synthetic"
      "demo_cxr 64²|$work/demo_cxr/train|$work/demo_cxr/synthetic"
      "demo_fundus 64²|$work/demo_fundus/train|$work/demo_fundus/synthetic"
      "MRI 256² + artefact|$work/mri256/train|$work/mri256/synthetic")

echo "| reading | set | PSNR (dB) | SSIM | spectral gap before | after |"
echo "|---|---|---:|---:|---:|---:|"
for reading in "${readings[@]}"; do
  label=${reading%%|*}; read -r -a overrides <<<"${reading#*|}"
  for s in "${sets[@]}"; do
    IFS='|' read -r set_name real synthetic <<<"$s"
    out="$work/out/$(echo "$label $set_name" | tr -c 'A-Za-z0-9' '_')"
    rm -rf "$out"
    "${F[@]}" calibrate --real "$real" --synthetic "$synthetic" --out "$out" --stage shr "${overrides[@]}" >/dev/null
    /usr/bin/python3 - "$out/calibration.json" "$label" "$set_name" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
q, g = c["output_vs_input"], c["spectral_gap"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {q['psnr_mean']:.2f} | {q['ssim_mean']:.3f} | "
      f"{g['before']['high_band']:.4f} | {g['after']['high_band']:.4f} |")
PY
  done
done
