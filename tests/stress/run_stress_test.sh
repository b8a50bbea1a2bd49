#!/usr/bin/env bash
# Many workers, random SIGKILLs (ctest label `stress`): 4 `frerec run` workers share one
# results folder and one artifact cache on a 12-cell tiny grid; a killer SIGKILLs a random
# worker's process every 1-6 s (the first round of one kill per worker 0.5-1.5 s apart; each
# worker at least once, at most 3 times, so the grid
# always finishes) and each worker restarts until `frerec status` says every cell is done.
# Then:
#   - every cell has exactly one complete record (record.json parses, status ok, the plan's
#     config hash) and no cell finished twice (the workers' "cell [N] done" lines);
#   - no cache entry is corrupt (each .h5 opens, has frerec_complete = 1 and every dataset
#     reads back, HDF5's Fletcher-32 checks included, through h5py);
#   - table2.md equals the table of an uninterrupted single-process run of the same grid.
#   tests/stress/run_stress_test.sh FRERC_BINARY
set -euo pipefail
frerec_bin=$(readlink -f "$1")
say() { echo "stress-test: $*"; }
fail() { echo "stress-test: FAILED: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/frerec-stress-XXXXXX)
worker_pids=()
cleanup() {
  local rc=$?
  set +e
  for pid in "${worker_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for f in "$work"/pid_*; do [[ -f $f ]] && kill -9 "$(cat "$f")" 2>/dev/null; done
  wait 2>/dev/null
  if [[ $rc != 0 ]]; then for log in "$work"/worker_*.log; do echo "== $log"; tail -n 20 "$log"; done; fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
cd "$work"
cat >grid.yaml <<'YAML'
experiment: {name: grid, kind: classify}
data:
  name: demo_mri
  image_size: 32
  counts:
    train: {positive: 12, negative: 12}
    test: {positive: 8, negative: 8}
model: {name: resnet18}
train: {epochs: 1, batch_size: 8, eval_batch_size: 16, workers: 1, warmup_epochs: 0}
grid:
  method.name: [raw, autoaugment, mixup]
  seed: [0, 1, 2, 3]
YAML
start=$SECONDS
"$frerec_bin" --threads 1 --results-dir reference --cache-dir reference_cache -q run grid.yaml >reference.txt 2>&1 \
  || { cat reference.txt; fail "the uninterrupted run failed"; }
say "uninterrupted run: $((SECONDS - start)) s"
cells=$("$frerec_bin" run grid.yaml --dry-run --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[[ $cells == 12 ]] || fail "the grid has $cells cells, expected 12"

all_done() {
  "$frerec_bin" --results-dir results status results/grid --json 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["counts"]["done"]==d["counts"]["total"] else 1)' 2>/dev/null
}
# Worker w: runs the grid again and again until everything is done; its current frerec's
# pid is in pid_w for the killer.
worker() {
  local w=$1
  until all_done; do
    "$frerec_bin" --threads 1 --results-dir results --cache-dir cache run grid.yaml >>"worker_$w.log" 2>&1 &
    echo $! >"pid_$w"
    wait $! || true
    rm -f "pid_$w"
  done
}
start=$SECONDS
for w in 0 1 2 3; do worker $w & worker_pids+=($!); done
kills=(0 0 0 0)
sleep 2
while ! all_done; do
  ((SECONDS - start < 600)) || fail "not done after 600 s"
  w=$((RANDOM % 4))
  # Each worker is killed at least once: the first four kills go round.
  total=$((kills[0] + kills[1] + kills[2] + kills[3]))
  ((total < 4)) && w=$total
  if ((kills[w] < 3)) && [[ -f pid_$w ]] && kill -9 "$(cat "pid_$w")" 2>/dev/null; then kills[w]=$((kills[w] + 1)); fi
  # The round of first kills goes quickly (0.5-1.5 s apart), so that every worker is killed
  # while cells remain even when the grid runs fast; later kills come every 1-6 s.
  total=$((kills[0] + kills[1] + kills[2] + kills[3]))
  if ((total < 4)); then low=0.5 high=1.5; else low=1 high=6; fi
  sleep "$(/usr/bin/python3 -c "import random; print(round(random.uniform($low, $high), 2))")"
done
for pid in "${worker_pids[@]}"; do wait "$pid"; done
worker_pids=()
say "4 workers, kills per worker ${kills[*]}, all 12 cells done in $((SECONDS - start)) s"
for w in 0 1 2 3; do ((kills[w] > 0)) || fail "worker $w was never killed; the grid finished too fast"; done

# Exactly one complete record per cell; none finished twice.
/usr/bin/python3 - "$work" <<'PY' || fail "records"
import glob, json, os, re, sys
work = sys.argv[1]
plan = json.load(open(os.path.join(work, "results/grid/plan.json")))
done = {}
for log in glob.glob(os.path.join(work, "worker_*.log")):
    for m in re.finditer(r"cell \[(\d+)\] done in", open(log, errors="replace").read()):
        done[int(m.group(1))] = done.get(int(m.group(1)), 0) + 1
bad = []
for cell in plan["cells"]:
    folder = os.path.join(work, "results/grid", cell["cell"])
    records = glob.glob(os.path.join(folder, "record*.json"))
    if [os.path.basename(r) for r in records] != ["record.json"]:
        bad.append(f"{cell['cell']}: records {records}")
        continue
    record = json.load(open(records[0]))
    if record.get("status") != "ok" or record.get("config_hash") != cell["config_hash"]:
        bad.append(f"{cell['cell']}: record {record.get('status')} {record.get('config_hash')}")
    if done.get(cell["index"], 0) > 1:
        bad.append(f"{cell['cell']}: finished {done[cell['index']]} times")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"stress-test: 12 cells, one complete record each; finished-once lines for {len(done)} cells")
PY
# No corrupt cache entry.
/usr/bin/python3 - "$work/cache" <<'PY' || fail "cache"
import glob, os, re, sys
import h5py
entries = [p for p in glob.glob(os.path.join(sys.argv[1], "*", "*.h5")) if re.fullmatch(r"[0-9a-f]{24}\.h5", os.path.basename(p))]
if not entries:
    print("no cache entries"); sys.exit(1)
def read_all(group):
    for item in group.values():
        if isinstance(item, h5py.Dataset):
            item[()]
        else:
            read_all(item)
for path in entries:
    with h5py.File(path, "r") as f:
        complete = f.attrs.get("frerec_complete")
        complete = complete.decode() if isinstance(complete, bytes) else str(complete)
        if complete != "1":
            print(f"{path}: frerec_complete={complete}"); sys.exit(1)
        read_all(f)
print(f"stress-test: {len(entries)} cache entries complete and readable")
PY
"$frerec_bin" --results-dir results report results/grid >/dev/null
cmp results/grid/table2.md reference/grid/table2.md || {
  diff results/grid/table2.md reference/grid/table2.md
  fail "table2.md differs from the uninterrupted run's"
}
say "table2.md equals the uninterrupted run's; passed in $SECONDS s"
