#!/usr/bin/env bash
# Runs every cell of an experiment or suite config with W single-threaded `frerec` workers
# on one machine, then rebuilds the reports once:
#   scripts/run_parallel.sh CONFIG [W] [-- frerec options and overrides...]
# Worker w runs the contiguous block w of the cells still to run (`frerec run CONFIG --cell N`;
# cells the listing marks done are left out, so a resumed or extended grid stays balanced), so
# the offline work of a dataset (image caches, SHR, the DAE) is mostly done by one worker;
# when two workers need the same artefact at once both compute it and the atomic writes
# keep one (wasted time, never a corrupt cache). Finished cells are skipped as by
# `frerec run`, so the script resumes. W defaults to the number of cores; each worker uses
# one LibTorch thread (on small CPU models this beats one process with W threads).
# Logs (appended to, so a resumed run keeps its history): <results>/<experiment>/worker_<w>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 ]]; then echo "usage: scripts/run_parallel.sh CONFIG [WORKERS] [-- options/overrides]" >&2; exit 2; fi
config=$1; shift
workers=$(nproc)
if [[ $# -gt 0 && $1 != "--" ]]; then workers=$1; shift; fi
[[ $# -gt 0 && $1 == "--" ]] && shift
frerec=${FREREC:-build/release/frerec}
[[ -x $frerec ]] || { echo "run_parallel: $frerec not found; run scripts/setup.sh first" >&2; exit 2; }
listing=$("$frerec" run "$config" --dry-run "$@")
count=$(grep -cE '^\s+\[[0-9]+\]' <<<"$listing" || true)
mapfile -t pending < <(grep -E '^\s+\[[0-9]+\]' <<<"$listing" | grep -v '(done)' | grep -oE '\[[0-9]+\]' | tr -d '[]')
results=$(grep -oE -- '-> [^ ]+' <<<"$listing" | head -n1 | cut -c4-)
if [[ $count -eq 0 || -z $results ]]; then echo "run_parallel: no cells in $config" >&2; exit 2; fi
mkdir -p "$results"
echo "run_parallel: $count cells of $config, ${#pending[@]} to run, $workers workers -> $results"
start=$(date +%s)
pids=()
for ((w = 0; w < workers; ++w)); do
  first=$((w * ${#pending[@]} / workers)); last=$(((w + 1) * ${#pending[@]} / workers))
  (
    for ((i = first; i < last; ++i)); do
      n=${pending[i]}
      "$frerec" --threads 1 run "$config" --cell "$n" "$@" || echo "run_parallel: cell $n failed" >&2
    done
  ) >>"$results/worker_$w.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$frerec" report "$results"
echo "run_parallel: $count cells in $(( $(date +%s) - start )) s wall"
