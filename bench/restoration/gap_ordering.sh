#!/usr/bin/env bash
# Issue 16's ordering check on the demo tasks: spectral gap of the shipped GAN's samples to the
# real training set before, after SHR alone, after FreRec (SHR then the auto-encoder) and
# after RHM alone, plus PSNR/SSIM of each output against its input (Table 3's measure) and the
# auto-encoder's last validation PSNR against its SHR input. Everything runs through
# `frerec calibrate` with the demo's SHR and auto-encoder (configs/base/demo_frerec.yaml).
#
#   bench/restoration/gap_ordering.sh [FREREC_BINARY] [WORK_DIR] [TASKS] [-- overrides...]
#
# TASKS: space-separated, default "demo_mri demo_cxr demo_fundus". Data: the benchmark's 800
# training images (the real set) and 200 GAN images (100 per class, seed 0); with
# POOL=checkerboard|blur|hf_noise in the environment, the positive control's known_bias pool
# of that operator instead (the first 200 images per class). DAE_FROM=<an earlier run's name in
# WORK_DIR/<task>/runs/, e.g. gan> reuses that run's auto-encoder instead of training one (the
# auto-encoder depends only on the real images and the settings, not on the pool). E.g.
#   bench/restoration/gap_ordering.sh && POOL=blur DAE_FROM=gan bench/restoration/gap_ordering.sh One auto-encoder per
# task and set of overrides, one thread each, tasks side by side: ~12 min per task on a free
# core, ~25 min for three tasks on 2 cores. Results: WORK_DIR/<task>/runs/<name>/ (calibrate's
# calibration.md) and the table printed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/release/frerec}
work=${2:-/tmp/frerec_gap_ordering}
tasks=${3:-demo_mri demo_cxr demo_fundus}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
overrides=("$@")
name=${POOL:-gan}${overrides:+_$(printf '%s_' "${overrides[@]}" | tr -c 'A-Za-z0-9_.=\n' '_')}
mkdir -p "$work"
config=$work/demo_cal.yaml
# The demo's shr and dae blocks, as the suite's FreRec rows use them.
/usr/bin/python3 - "$root/configs/base/demo_frerec.yaml" "$config" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))["method"]["gda_frerec"]
yaml.safe_dump({"shr": m["shr"], "dae": m["dae"]}, open(sys.argv[2], "w"))
PY
F=("$bin" --cache-dir "$work/cache" -q)

one_task() {
  local task=$1 d=$work/$1 o=$work/$1/runs/$name  # runs/: never the pool folder of the same name
  [ -d "$d/train" ] || "${F[@]}" --threads 1 datasets export "$task" --out "$d" counts.train.positive=400 \
    counts.train.negative=400 counts.test.positive=100 counts.test.negative=100 synthetic.name=none >/dev/null
  local pool=$d/gan checkpoint=()
  if [ "${POOL:-gan}" = gan ]; then
    [ -d "$pool" ] || "${F[@]}" --threads 1 generator sample --checkpoint "builtin:$task" --per-class 100 --out "$pool" >/dev/null
  else
    pool=$d/$POOL
    if [ ! -d "$pool" ]; then
      "${F[@]}" --threads 1 datasets export "$task" --out "$d/export_$POOL" counts.train.positive=1 \
        counts.train.negative=1 counts.test.positive=1 counts.test.negative=1 synthetic.name=known_bias \
        "synthetic.known_bias.operator=$POOL" >/dev/null
      # sed, not head: head would end the pipe early and pipefail would stop the script.
      rm -rf "$pool.tmp"
      for c in positive negative; do
        mkdir -p "$pool.tmp/$c"
        find "$d/export_$POOL/synthetic/$c" -name '*.png' | sort | sed -n '1,200p' | xargs cp -t "$pool.tmp/$c"
      done
      mv "$pool.tmp" "$pool"  # only a complete pool counts as made
      rm -rf "$d/export_$POOL"
    fi
  fi
  if [ -n "${DAE_FROM:-}" ]; then
    local given=$work/$task/runs/$DAE_FROM/frerec/dae_checkpoint.pt
    [ -f "$given" ] || { echo "gap_ordering: no auto-encoder at $given" >&2; return 1; }
    checkpoint=(--checkpoint "$given")
  fi
  rm -rf "$o" && mkdir -p "$o"
  "${F[@]}" --threads 1 calibrate --config "$config" --real "$d/train" --synthetic "$pool" --out "$o/shr" \
    --stage shr "${overrides[@]}" >/dev/null
  "${F[@]}" --threads 1 calibrate --config "$config" --real "$d/train" --synthetic "$pool" --out "$o/frerec" \
    --stage full "${checkpoint[@]}" "${overrides[@]}" >/dev/null
  "${F[@]}" --threads 1 calibrate --config "$config" --real "$d/train" --synthetic "$pool" --out "$o/rhm" \
    --stage rhm --checkpoint "${checkpoint[1]:-$o/frerec/dae_checkpoint.pt}" "${overrides[@]}" >/dev/null
}
pids=()
for task in $tasks; do one_task "$task" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done

echo "pool: ${POOL:-gan}; overrides: ${overrides[*]:-(none)}"
echo "| task | gap before | SHR | FreRec | RHM only | PSNR/SSIM SHR | FreRec | RHM only | DAE val PSNR (input) |"
echo "|---|---:|---:|---:|---:|---|---|---|---|"
for task in $tasks; do
  /usr/bin/python3 - "$work/$task/runs/$name" "$task" <<'PY'
import json, sys
o, task = sys.argv[1], sys.argv[2]
c = {s: json.load(open(f"{o}/{s}/calibration.json")) for s in ("shr", "frerec", "rhm")}
gap = lambda s, w: c[s]["spectral_gap"][w]["high_band"]
q = lambda s: "%.2f / %.4f" % (c[s]["output_vs_input"]["psnr_mean"], c[s]["output_vs_input"]["ssim_mean"])
last = c["frerec"]["dae_learning_curve"][-1]
print(f"| {task} | {gap('shr','before'):.4f} | {gap('shr','after'):.4f} | {gap('frerec','after'):.4f} | "
      f"{gap('rhm','after'):.4f} | {q('shr')} | {q('frerec')} | {q('rhm')} | "
      f"{last['val_psnr']:.2f} ({last['input_psnr']:.2f}) |")
PY
done
