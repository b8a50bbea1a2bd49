#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang-14, ASan + UBSan) and runs each for
# SECONDS (default 60) on a working copy of its seed corpus (fuzz/corpus/<target>/).
#   scripts/fuzz.sh                      # every target, 60 s each (what CI runs)
#   scripts/fuzz.sh 3600 fuzz_csv        # one target for an hour
#   FREREC_FUZZ_JOBS=2 scripts/fuzz.sh 3600   # two targets at a time
# A crash, sanitizer report, leak, timeout (10 s per input) or out-of-memory (2 GB) stops
# the run with a non-zero exit; the input is kept in build/fuzz/findings/<target>/ (add it
# to tests as a regression test). Each run prints libFuzzer's final stats (exec/s).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_config fuzz_csv fuzz_labels fuzz_image_cache)
source scripts/packages.sh
frerec_install_packages
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
[ -f build/fuzz/build.ninja ] || cmake --preset fuzz > /dev/null
cmake --build build/fuzz -j "$(nproc)" --target "${targets[@]}"

run_one() {
  local target=$1 work=build/fuzz/corpus/$1 findings=build/fuzz/findings/$1
  mkdir -p "$work" "$findings"
  echo "fuzz: $target for ${seconds} s"
  # OpenCV reads its own pixel limit (default 2^30) once, when it loads: the image target
  # keeps it at 4 MP so that a header our check cannot read still fits the memory limit.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 OPENCV_IO_MAX_IMAGE_PIXELS=4000000 \
    "build/fuzz/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$work" "fuzz/corpus/${target#fuzz_}" > "build/fuzz/$target.log" 2>&1 || {
    echo "fuzz: $target FOUND A PROBLEM (input in $findings/):"
    grep -E "ERROR|finding|SUMMARY|Test unit written" "build/fuzz/$target.log" | head -20
    return 1
  }
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" "build/fuzz/$target.log" |
    sed "s/^/fuzz: $target /"
}

jobs=${FREREC_FUZZ_JOBS:-1}
status=0
pids=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ $status -eq 0 ] && echo "fuzz: no findings in ${#targets[@]} target(s), ${seconds} s each"
exit $status
