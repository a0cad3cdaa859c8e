#!/usr/bin/env bash
# Sweeps on a real SLURM cluster: starts a one-node cluster on this machine from Debian's packages
# (scripts/slurm-cluster.sh: munged, slurmctld and slurmd on localhost, everything in a temporary
# folder), then submits with `iapt sweep --slurm`, waits, and checks:
#   1. a 4-run sweep (IAPT and LoRA, 2 seeds, a few steps of the tiny fixture model) as one array:
#      the 4 runs finish, each task ended COMPLETED, the report job lists both configurations, and
#      `iapt report` read the folder while tasks were still running;
#   2. a sweep with a selection stage: its array of 2 candidates, then the dependent array of the
#      chosen rate's 2 other seeds (4 runs);
#   3. one run on 2 MPI ranks through srun (where the build has MPI): its summary says 2 ranks.
# The cluster is torn down on every exit. Exit 77 (skipped) with the reason where the daemons cannot
# start here.
# Usage: scripts/test-slurm.sh [IAPT_BINARY]   (default: build/iapt)
set -euo pipefail
cd "$(dirname "$0")/.."
iapt=$(realpath "${1:-build/iapt}")
fixtures=$PWD/tests/fixtures
source scripts/slurm-cluster.sh
source tests/tiny_sst2.sh

if ! why=$(slurm_cluster_why_not); then
  echo "test-slurm: SKIPPED: $why"
  exit 77
fi
work=$(mktemp -d)
trap 'slurm_cluster_stop "$work/cluster"; rm -rf "$work"' EXIT
mkdir "$work/cluster"
started=$(date +%s)
if ! slurm_cluster_start "$work/cluster"; then
  echo "test-slurm: SKIPPED: the one-node cluster's daemons did not start (the reason is above)"
  exit 77
fi
echo "test-slurm: a one-node cluster is up in $(($(date +%s) - started)) s:"
sinfo
export OMP_NUM_THREADS=1

fail() {
  echo "test-slurm: FAIL: $*"
  for f in "$work"/sweeps/*/slurm/*.out; do [[ -f $f ]] && { echo "--- $f"; tail -5 "$f"; }; done
  exit 1
}

write_tiny_sst2 "$work/data"
base() {  # $1: the sweep's name
  cat <<YAML
name: $1
seed: 1
output_dir: $work/sweeps
backbone: {path: $fixtures/llama-gqa, tokenizer: $fixtures/tiny-tokenizer/tokenizer.model}
method: {name: iapt, soft_tokens: 2, bottleneck: 6}
task: {name: sst2, data_dir: $work/data, max_length: 32}
training: {lr: 0.01, steps: 4, batch_size: 8, eval_every: 2, checkpoint_every: 2, log_every: 1}
YAML
}
{
  base grid
  echo "sweep: {seeds: [1, 2], labels: [iapt, lora], zip: {method: [{name: iapt, soft_tokens: 2, bottleneck: 6}, {name: lora, r: 2, targets: [q, v]}]}}"
} > "$work/grid.yaml"
{
  base select
  echo "sweep: {seeds: [1, 2, 3], label: [method.name], grid: {method: [{name: iapt, soft_tokens: 2, bottleneck: 6}]},"
  echo "        select: {grid: {training.lr: [1e-9, 3e-2]}, seeds: [1]}}"
} > "$work/select.yaml"

# Submits a sweep; prints iapt's lines and leaves the job ids in $jobs.
submit() {
  local output
  output=$("$iapt" sweep "$@" --time 0:10:00) || fail "iapt sweep $* --slurm: $output"
  echo "$output"
  jobs=$(sed -n 's/^submitted job \([0-9]*\):.*/\1/p' <<< "$output" | paste -sd,)
  [[ -n $jobs ]] || fail "no job id in the output of iapt sweep $*"
}

# Waits (at most $2 s) until none of the jobs $1 is queued or running; reads the report once while
# they run when $3 names a sweep folder.
wait_for() {
  local deadline=$(($(date +%s) + $2)) looked=0 t0
  t0=$(date +%s)
  while [[ -n $(squeue --noheader --jobs="$1" 2> /dev/null) ]]; do
    (($(date +%s) < deadline)) || { squeue; fail "jobs $1 still queued or running after $2 s"; }
    if [[ -n ${3:-} && $looked == 0 && -f $3/sweep.json ]]; then
      echo "test-slurm: while the array runs, iapt report $3 says:"
      "$iapt" report "$3" | head -1 || fail "iapt report failed on a sweep still running"
      looked=1
    fi
    sleep 1
  done
  echo "test-slurm: jobs $1 ended after $(($(date +%s) - t0)) s"
}

# Every task of the jobs $1 (comma-separated) ended COMPLETED with exit status 0, as the cluster's
# job completion log records; $2 is how many tasks that makes.
completed() {
  local log=$work/cluster/jobcomp.log n=0 id
  for id in ${1//,/ }; do
    # an array's tasks are jobs of their own, each with ArrayJobId= the array's id
    n=$((n + $(grep "JobState=COMPLETED" "$log" | grep " ExitCode=0:0" | grep -cE "(^| )(Array)?JobId=${id} " || true)))
  done
  ((n == $2)) || { cat "$log"; fail "$n of the $2 tasks of jobs $1 ended COMPLETED with exit status 0"; }
}

summaries() { find "$1" -name summary.json | wc -l; }

echo
echo "== 1. a 4-run sweep as one job array"
submit "$work/grid.yaml" --slurm --max-parallel 2
wait_for "$jobs" 300 "$work/sweeps/grid"
completed "$jobs" 5  # 4 array tasks and the report job
(($(summaries "$work/sweeps/grid") == 4)) || fail "$(summaries "$work/sweeps/grid") of the 4 runs finished"
echo "test-slurm: the report job's output ($(ls "$work"/sweeps/grid/slurm/report-*.out)):"
cat "$work"/sweeps/grid/slurm/report-*.out
report=$("$iapt" report "$work/sweeps/grid")
grep -q "^4 of 4 runs finished" <<< "$report" || fail "the report does not count 4 finished runs: $report"
grep -qE '^\| iapt \| iapt \|.* \| 2 \| ' <<< "$report" || fail "the report has no row of IAPT's 2 seeds: $report"
grep -qE '^\| lora \| lora \|.* \| 2 \| ' <<< "$report" || fail "the report has no row of LoRA's 2 seeds: $report"
"$iapt" sweep "$work/grid.yaml" --slurm | grep -q "nothing to submit" || fail "a finished sweep was submitted again"

echo
echo "== 2. a selection stage, then the chosen rate's other seeds in a dependent array"
submit "$work/select.yaml" --slurm
wait_for "$jobs" 300
completed "$jobs" 5  # 2 candidates, 2 seeds and the report job
(($(summaries "$work/sweeps/select") == 4)) || fail "$(summaries "$work/sweeps/select") of the 4 runs finished"
chosen=$(grep -o '"selected": "[^"]*"' "$work/sweeps/select/selection.json" | cut -d'"' -f4)
for seed in 2 3; do
  [[ -f $work/sweeps/select/iapt/$chosen/seed-$seed/summary.json ]] || fail "seed $seed did not run with $chosen"
done
echo "test-slurm: selected $chosen; the report job's output:"
cat "$work"/sweeps/select/slurm/report-*.out

if ldd "$iapt" | grep -q libmpi; then
  echo
  echo "== 3. one run on 2 MPI ranks through srun --mpi=pmix"
  sed -e 's/^name: grid/name: ranks/' -e 's/seeds: \[1, 2\]/seeds: [1]/' "$work/grid.yaml" > "$work/ranks.yaml"
  submit "$work/ranks.yaml" --slurm --only lora --ranks-per-run 2
  wait_for "$jobs" 300
  completed "$jobs" 2
  ranks=$(grep -o '"ranks": [0-9]*' "$work/sweeps/ranks/lora/seed-1/summary.json" || true)
  [[ $ranks == '"ranks": 2' ]] || fail "the 2-rank run's summary says '${ranks:-no ranks}'"
  echo "test-slurm: the run's summary says $ranks"
else
  echo "test-slurm: the build has no MPI; the 2-rank run is not tried"
fi
echo
echo "test-slurm: PASSED in $(($(date +%s) - started)) s"
