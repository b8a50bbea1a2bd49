#!/usr/bin/env bash
# Runs every cell of an experiment or suite config with W single-threaded `frerec` workers
# on one machine, then rebuilds the reports once:
#   scripts/run_parallel.sh CONFIG [W] [-- frerec options and overrides...]
# The plan comes from `frerec run CONFIG --dry-run --json` (cell indices, which are done,
# the results folder). Worker w runs the contiguous block w of the cells still to run
# (`frerec run CONFIG --cell N`), so the offline work of a dataset (image caches, SHR, the
# DAE) is mostly done by one worker; when two workers need the same artefact at once one
# builds it and the other waits for it (the cache's entry lock). Each cell runs under its
# lock, so a second copy of this script (or a Slurm job) on the same folder never runs a
# cell twice. Finished cells are skipped as by `frerec run`, so the script resumes. W
# defaults to the number of cores; each worker uses one LibTorch thread (on small CPU models
# this beats one process with W threads). The workers run a private copy of the program
# (in a temporary folder), so rebuilding build/release/frerec meanwhile changes nothing.
# Logs (appended to, so a resumed run keeps its history): <results>/<experiment>/worker_<w>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 ]]; then echo "usage: scripts/run_parallel.sh CONFIG [WORKERS] [-- options/overrides]" >&2; exit 2; fi
config=$1; shift
workers=$(nproc)
if [[ $# -gt 0 && $1 != "--" ]]; then workers=$1; shift; fi
[[ $# -gt 0 && $1 == "--" ]] && shift
[[ $workers =~ ^[1-9][0-9]*$ ]] || { echo "run_parallel: WORKERS '$workers' must be a whole number >= 1" >&2; exit 2; }
source_binary=${FREREC:-build/release/frerec}
[[ -x $source_binary ]] || { echo "run_parallel: $source_binary not found; run scripts/setup.sh first" >&2; exit 2; }
private=$(mktemp -d "${TMPDIR:-/tmp}/frerec-run-parallel-XXXXXX")
trap 'rm -rf "$private"' EXIT
cp "$source_binary" "$private/frerec"
frerec=$private/frerec
plan=$("$frerec" run "$config" --dry-run --json "$@")
read_plan() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); $1" <<<"$plan"; }
count=$(read_plan 'print(d["total"])')
results=$(read_plan 'print(d["results_dir"])')
mapfile -t pending < <(read_plan 'print("\n".join(str(c["index"]) for c in d["cells"] if not c["done"]))')
if [[ $count -eq 0 ]]; then echo "run_parallel: no cells in $config" >&2; exit 2; fi
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
