#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine runs a tiny demo grid through
# `frerec slurm --submit` (ctest label `slurm`; README "Running on a cluster"):
#   1. installs slurm-wlm and munge when missing (scripts/packages.sh), writes a minimal
#      slurm.conf for this host (no cgroups, no accounting, state under a temp folder) and
#      starts munged, slurmctld and slurmd in the foreground of this script (pids kept);
#   2. runs the grid locally (the reference table);
#   3. submits it (6 cells, at most 2 at once), cancels one array task while its cell runs
#      (scancel), waits for the report job, checks that the cancelled cell is pending and the
#      others are done; resubmits: only the cancelled cell is in the new array, the records of
#      the others are untouched; the final table2.md equals the local one byte for byte;
#   4. an array task of a plan whose config was edited afterwards is refused naming both hashes.
# Every daemon it started is stopped by pid on exit, whatever happens. Needs root (the
# daemons run as root here, as in the CI container); it fails, never skips, without it.
#   tests/slurm/run_slurm_test.sh FRERC_BINARY SOURCE_DIR
set -euo pipefail
frerec_bin=$(readlink -f "$1")
source_dir=$(readlink -f "$2")
say() { echo "slurm-test: $*"; }
fail() { echo "slurm-test: FAILED: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || fail "needs root to start munged, slurmctld and slurmd (run under sudo, or exclude with ctest -LE slurm)"

# Packages (only what is missing; the same list scripts/setup.sh installs).
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  # shellcheck source=../../scripts/packages.sh
  source "$source_dir/scripts/packages.sh"
  frerec_install_packages
fi
for program in munged slurmctld slurmd sbatch squeue scancel; do
  command -v "$program" >/dev/null || fail "$program is not installed (apt-get install slurm-wlm munge)"
done

work=$(mktemp -d /tmp/frerec-slurm-test-XXXXXX)
chmod 755 "$work"
daemon_pids=()
cleanup() {
  local rc=$?
  set +e
  if [[ -n ${SLURM_CONF:-} && -f ${SLURM_CONF:-} ]]; then
    scancel --quiet --user=root >/dev/null 2>&1  # jobs of this private cluster only
    for _ in $(seq 1 20); do [[ -z $(squeue -h 2>/dev/null) ]] && break; sleep 0.5; done
  fi
  for pid in "${daemon_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${daemon_pids[@]}"; do
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  if [[ $rc != 0 ]]; then
    for log in "$work"/log/*.log; do echo "== $log (last 30 lines)"; tail -n 30 "$log"; done
    for log in "$work"/run/results/grid/slurm/logs/*; do echo "== $log"; tail -n 15 "$log"; done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work"/{state,spool,log,pids,munge,sock,run}
chmod 700 "$work/munge"
chmod 755 "$work/sock"
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
cat >"$work/slurm.conf" <<CONF
ClusterName=frerectest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/sock/munge.socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=5
MinJobAge=600
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/pids/slurmctld.pid
SlurmdPidFile=$work/pids/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf

munged -F --socket="$work/sock/munge.socket" --key-file="$work/munge/munge.key" --log-file="$work/log/munged.log" \
  --pid-file="$work/pids/munged.pid" --seed-file="$work/munge/seed" >>"$work/log/munged.stdout.log" 2>&1 &
daemon_pids+=($!)
for _ in $(seq 1 40); do [[ -S $work/sock/munge.socket ]] && break; sleep 0.25; done
[[ -S $work/sock/munge.socket ]] || fail "munged did not start"
slurmctld -D -i -f "$SLURM_CONF" >>"$work/log/slurmctld.stdout.log" 2>&1 &
daemon_pids+=($!)
slurmd -D -f "$SLURM_CONF" >>"$work/log/slurmd.stdout.log" 2>&1 &
daemon_pids+=($!)
for _ in $(seq 1 60); do
  [[ $(sinfo -h -o '%t' 2>/dev/null) == idle ]] && break
  sleep 0.5
done
[[ $(sinfo -h -o '%t' 2>/dev/null) == idle ]] || fail "the node did not come up: $(sinfo 2>&1 | tr '\n' ' ')"
say "cluster up: munged, slurmctld, slurmd (pids ${daemon_pids[*]}) on $host, $cpus CPUs"

# Waits until job $1 has left the queue (pending, running or completing), at most $2 s.
wait_for_job() {
  local job=$1 limit=$2 start=$SECONDS
  while [[ -n $(squeue -h -j "$job" -t PD,R,CG,CF,S 2>/dev/null) ]]; do
    ((SECONDS - start < limit)) || fail "job $job still queued after $limit s: $(squeue 2>&1 | tr '\n' ' ')"
    sleep 1
  done
}
json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

cd "$work/run"
# The tiny demo grid: 6 cells, 32² demo brain MRI, a few images, one short epoch.
cat >grid.yaml <<'YAML'
experiment: {name: grid, kind: classify}
data:
  name: demo_mri
  image_size: 32
  counts:
    train: {positive: 12, negative: 12}
    test: {positive: 8, negative: 8}
model: {name: resnet18}
train: {epochs: 2, batch_size: 8, eval_batch_size: 16, workers: 1, warmup_epochs: 0}
grid:
  method.name: [raw, autoaugment, mixup]
  seed: [0, 1]
YAML
cluster=(--threads 1 --results-dir "$work/run/results" --cache-dir "$work/run/cache")

say "local reference run"
"$frerec_bin" --threads 1 --results-dir "$work/run/local" --cache-dir "$work/run/local_cache" -q run grid.yaml >local.txt 2>&1 \
  || { cat local.txt; fail "the local run failed"; }
[[ -s local/grid/table2.md ]] || fail "the local run wrote no table2.md"

say "submitting the grid"
"$frerec_bin" "${cluster[@]}" slurm grid.yaml --max-parallel 2 --cpus-per-cell 1 --submit | tee submit1.txt
grep -q '^grid: 6 of 6 cells to run' submit1.txt || fail "expected 6 cells to run"
array=$(sed -n 's/^submitted array job \([0-9]*\) .*/\1/p' submit1.txt)
report=$(sed -n 's/.* report job \([0-9]*\) (afterany:.*/\1/p' submit1.txt)
[[ -n $array && -n $report ]] || fail "no job ids in: $(cat submit1.txt)"
grep -q '^#SBATCH --array=0-5%2$' results/grid/slurm/array.sbatch || fail "array line: $(grep array= results/grid/slurm/array.sbatch)"

# Cancel one array task while its cell runs: two seconds after a later cell took its lock
# (polled on the files, which is quicker than a cell).
mapfile -t ids < <(json_field "'\\n'.join(c['cell'] for c in d['cells'])" <results/grid/slurm/plan.json)
cancelled=""
for _ in $(seq 1 6000); do
  for n in 2 3 4 5; do
    if [[ -f results/grid/${ids[n]}/cell.lock && ! -f results/grid/${ids[n]}/record.json ]]; then cancelled=$n; break 2; fi
  done
  sleep 0.1
done
[[ -n $cancelled ]] || fail "no cell was seen starting"
sleep 2
[[ ! -f results/grid/${ids[cancelled]}/record.json ]] || fail "cell $cancelled finished within 2 s; cells too fast"
task=$(json_field "d['array'].index($cancelled)" <results/grid/slurm/plan.json)
say "cancelling array task ${array}_$task (cell $cancelled) mid-run"
scancel "${array}_$task"
wait_for_job "$array" 900
wait_for_job "$report" 300
[[ -f results/grid/table2.md ]] || fail "the report job wrote no table2.md: $(cat results/grid/slurm/logs/report_*.out)"
status=$("$frerec_bin" status results/grid)
echo "$status"
grep -q "^grid: 6 cells: 5 done, 0 failed, 0 running, 1 pending" <<<"$status" || fail "after the cancel: $status"
grep -q "\[$cancelled\] .* pending" <<<"$status" || fail "cell $cancelled is not the pending one"
for n in 0 1 2 3 4 5; do [[ -s results/grid/slurm/logs/cell_$n.out || -s results/grid/slurm/logs/cell_$n.err ]] || fail "no per-cell log for cell $n"; done
declare -A started
for record in results/grid/*/*/*/seed=*/record.json; do started[$record]=$(json_field "d['timing']['started']" <"$record"); done

say "resubmitting: only the unfinished cell"
"$frerec_bin" "${cluster[@]}" slurm grid.yaml --max-parallel 2 --submit | tee submit2.txt
grep -q '^grid: 1 of 6 cells to run' submit2.txt || fail "expected 1 cell to run: $(cat submit2.txt)"
grep -q "^cells=($cancelled)$" results/grid/slurm/array.sbatch || fail "the new array is not cell $cancelled"
array2=$(sed -n 's/^submitted array job \([0-9]*\) .*/\1/p' submit2.txt)
report2=$(sed -n 's/.* report job \([0-9]*\) (afterany:.*/\1/p' submit2.txt)
wait_for_job "$array2" 600
wait_for_job "$report2" 300
"$frerec_bin" status results/grid | grep -q "^grid: 6 cells: 6 done" || fail "not all done: $("$frerec_bin" status results/grid)"
for record in "${!started[@]}"; do
  [[ $(json_field "d['timing']['started']" <"$record") == "${started[$record]}" ]] || fail "$record was run again"
done
grep -q "report job\|table2.md" results/grid/slurm/logs/report_"$report2".out || fail "report log: $(cat results/grid/slurm/logs/report_"$report2".out)"
cmp results/grid/table2.md local/grid/table2.md || {
  diff results/grid/table2.md local/grid/table2.md
  fail "table2.md of the Slurm run differs from the local run"
}
say "table2.md of the Slurm run equals the local run's"

# A plan frozen before the config was edited is refused by the array task.
sed -i 's/epochs: 2/epochs: 3/' grid.yaml
set +e
refused=$("$frerec_bin" "${cluster[@]}" run grid.yaml --cell 0 --frozen-plan results/grid/slurm/plan.json 2>&1)
code=$?
set -e
[[ $code == 2 ]] || fail "an edited config gave exit $code: $refused"
frozen=$(json_field "d['config_hash']" <results/grid/slurm/plan.json)
grep -q "config hash $frozen, the config now gives [0-9a-f]\{64\}" <<<"$refused" || fail "refusal does not name both hashes: $refused"
say "an edited config is refused: $refused"
say "passed"
