#!/usr/bin/env bash
# Reruns committed cells from scratch and checks that they reproduce their committed
# metrics exactly: the guard that a refactoring changed no number.
#
#   scripts/reproduce_cells.sh RESULTS_DIR CELL [CELL ...]
#   e.g. scripts/reproduce_cells.sh results/demo demo_mri/raw/densenet_small/seed=0
#
# For each cell, the committed RESULTS_DIR/<cell>/record.json names the config file (its
# plan.<experiment>.json) and the cell's index; the cell is run again with
# `frerec --threads T run CONFIG --cell N --fresh` (T = the record's thread count) into a
# temporary results folder with a fresh cache, and every metric of the new record.json must
# equal the committed one (numbers compared as written, no tolerance). Exit 0 when all match,
# 1 when one differs (each difference listed), 2 on bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 ]]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
results=$1
shift
frerec=${FREREC:-build/release/frerec}
[[ -x $frerec ]] || { echo "reproduce_cells: $frerec is not built (scripts/setup.sh)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for cell in "$@"; do
  record=$results/$cell/record.json
  [[ -f $record ]] || { echo "reproduce_cells: no $record" >&2; exit 2; }
  # The plan that lists the cell gives its config file, overrides and index.
  read -r config index overrides threads < <(/usr/bin/env python3 - "$results" "$cell" "$record" <<'EOF'
import glob, json, sys
results, cell, record = sys.argv[1:4]
threads = json.load(open(record)).get("environment", {}).get("threads", 1)
for plan_file in sorted(glob.glob(f"{results}/plan.*.json")):
    plan = json.load(open(plan_file))
    for c in plan["cells"]:
        if c["cell"] == cell:
            print(plan["config_file"], c["index"], ",".join(plan.get("overrides", [])) or "-", threads)
            sys.exit(0)
sys.exit(f"reproduce_cells: no plan in {results} lists {cell}")
EOF
  )
  args=()
  if [[ $overrides != - ]]; then IFS=, read -r -a args <<<"$overrides"; fi
  echo "reproduce_cells: $cell (cell $index of $config, $threads thread(s))" >&2
  "$frerec" --threads "$threads" --quiet --cache-dir "$work/cache" --results-dir "$work/results" \
    run "$config" "${args[@]}" --cell "$index" --fresh >/dev/null
  fresh=$(find "$work/results" -path "*/$cell/record.json" | head -n 1)
  /usr/bin/env python3 - "$record" "$fresh" "$cell" <<'EOF' || status=1
import json, sys
committed, fresh, cell = sys.argv[1:4]
a = json.load(open(committed))["metrics"]
b = json.load(open(fresh))["metrics"]
skip = {"data_wait_fraction", "resumed"}  # timings and how the run went, not results
diff = [k for k in sorted(set(a) | set(b)) if k not in skip and a.get(k) != b.get(k)]
for k in diff:
    print(f"  {cell}: {k} committed {a.get(k)} now {b.get(k)}")
print(f"reproduce_cells: {cell}: {'DIFFERS' if diff else 'identical'} ({len(set(a) - skip)} metrics)")
sys.exit(1 if diff else 0)
EOF
done
exit $status
