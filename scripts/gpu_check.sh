#!/usr/bin/env bash
# GPU check (README "GPUs"): on a machine with an NVIDIA GPU, the CUDA toolkit and an unpacked
# CUDA LibTorch 2.x (cxx11 ABI) at $LIBTORCH_CUDA, builds the `cuda` preset and checks, in
# about 10 minutes:
#   1. `frerec --version` reports a CUDA build and a usable device;
#   2. the classifier golden tests (torchvision logits, 1e-4) and the official-Restormer
#      golden tests (1e-5) pass with the networks on the GPU (FREREC_TEST_DEVICE=cuda, TF32 off);
#   3. one demo Table 2 cell (demo_mri, resnet18, 2 epochs) trained on the CPU and on the GPU
#      reaches test AUCs within 0.02 of each other (GPU kernels are not bit-identical to the
#      CPU's, so the runs differ by rounding that training amplifies; 0.02 is our tolerance);
#   4. ResNet50 training throughput at 224², batch 32 (img/s, bench_models_train).
# Every number goes to one file (default build/cuda/gpu_check.txt), which it prints at the end.
# Usage: LIBTORCH_CUDA=/opt/libtorch scripts/gpu_check.sh [OUTPUT_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LIBTORCH_CUDA:?set LIBTORCH_CUDA to an unpacked CUDA LibTorch 2.x (cxx11 ABI); see the README section GPUs}"
out=${1:-build/cuda/gpu_check.txt}
start=$(date +%s)
source scripts/packages.sh
frerec_install_packages
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
[ -f build/cuda/build.ninja ] || cmake --preset cuda
cmake --build build/cuda -j "$(nproc)" --target frerec models_test restoration_networks_test bench_models_train
mkdir -p "$(dirname "$out")"
: > "$out"
log() { echo "$*" | tee -a "$out"; }
status=0

log "== gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short=12 HEAD)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' | tee -a "$out" || true
build/cuda/frerec --version | tee -a "$out"
grep -q "built with CUDA" "$out" || { log "FAIL: this build's LibTorch has no CUDA"; exit 1; }

log "== 2. golden tests on the GPU"
for t in "models_test --gtest_filter=Models/GoldenLogits.*" \
         "restoration_networks_test --gtest_filter=Cases/OfficialRestormer.*"; do
  set -- $t
  binary=$(find build/cuda/tests -type f -name "$1" | head -1)
  if FREREC_TEST_DEVICE=cuda "$binary" "$2" > "build/cuda/$1.gpu.log" 2>&1; then
    log "pass: $1 $2 ($(grep -c '\[       OK \]' "build/cuda/$1.gpu.log") cases)"
  else
    log "FAIL: $1 $2 (build/cuda/$1.gpu.log)"; status=1
  fi
done

log "== 3. one demo Table 2 cell on CPU and GPU"
work=build/cuda/gpu_check_cell
rm -rf "$work"
mkdir -p "$work"
cat > "$work/cell.yaml" <<'YAML'
experiment: {kind: classify, name: gpu_check}
data:
  name: demo_mri
  image_size: 64
  counts: {train: {positive: 200, negative: 200}, test: {positive: 200, negative: 200}}
model: {name: resnet18}
train: {epochs: 2, batch_size: 32, eval_batch_size: 64, warmup_epochs: 0}
YAML
for device in cpu cuda; do
  t0=$(date +%s)
  build/cuda/frerec --device "$device" --cache-dir "$work/cache" --results-dir "$work/$device" run "$work/cell.yaml" \
    > "$work/$device.log" 2>&1 || { log "FAIL: the $device cell ($work/$device.log)"; status=1; }
  log "cell on $device: $(( $(date +%s) - t0 )) s"
done
auc() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metrics']['auc'])" "$1"; }
cpu_auc=$(auc "$work/cpu/gpu_check/demo_mri/raw/resnet18/seed=0/record.json" 2>/dev/null || echo nan)
gpu_auc=$(auc "$work/cuda/gpu_check/demo_mri/raw/resnet18/seed=0/record.json" 2>/dev/null || echo nan)
if /usr/bin/python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if abs(a-b)<=0.02 else 1)" \
     "$cpu_auc" "$gpu_auc"; then
  log "pass: AUC cpu $cpu_auc, gpu $gpu_auc (tolerance 0.02)"
else
  log "FAIL: AUC cpu $cpu_auc, gpu $gpu_auc (tolerance 0.02)"; status=1
fi

log "== 4. ResNet50 224² training throughput (batch 32, SGD step)"
FREREC_BENCH_DEVICE=cuda FREREC_BENCH_ITERS=50 build/cuda/bench/models/bench_models_train \
  --benchmark_filter='resnet50_224' 2>&1 | grep -E "resnet50_224" | tee -a "$out" || { log "FAIL: benchmark"; status=1; }

log "== total $(( $(date +%s) - start )) s; $([ $status -eq 0 ] && echo 'all checks passed' || echo 'SOME CHECKS FAILED')"
exit $status
