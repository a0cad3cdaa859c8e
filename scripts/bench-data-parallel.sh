#!/usr/bin/env bash
# Data-parallel training on this machine: one IAPT run on en-llama-6m and SST-2 (global batch 16,
# max_length 96, 40 steps) as one process and as 2 MPI ranks sharing each batch, with the machine's
# cores split between the ranks. Prints a Markdown table of training tokens/s (median over the
# logged windows after the first) and the time per step spent summing gradients over the ranks
# (which includes waiting for the slower rank). Needs the shared models and data (IAPT_SHARED).
#   bash scripts/bench-data-parallel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${IAPT_SHARED:-$PWD/../shared}
[[ -d $shared/models/en-llama-6m ]] || { echo "bench-data-parallel: no $shared/models/en-llama-6m (set IAPT_SHARED)" >&2; exit 1; }
source scripts/configure.sh >/dev/null
cmake --build build --target iapt >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cores=$(nproc)

config() {  # output folder
  cat <<EOF
name: dp-bench
seed: 1
output_dir: $1
backbone: {path: "$shared/models/en-llama-6m"}
method: {name: iapt, soft_tokens: 4, bottleneck: 32, activation: {kind: rational, version: B, degrees: [6, 5], init: gelu}}
task: {name: sst2, data_dir: "$shared/data", max_dev: 16, max_test: 16, max_length: 96, split_seed: 1}
training: {optimizer: adamw, lr: 1e-3, steps: 40, batch_size: 16, eval_every: 40, checkpoint_every: 40, log_every: 5}
EOF
}

row() {  # label, ranks, threads per rank
  local label=$1 ranks=$2 threads=$3 out=$work/$2x$3
  config "$out" >"$work/$2x$3.yaml"
  if ((ranks == 1)); then
    OMP_NUM_THREADS=$threads ./build/iapt run "$work/$2x$3.yaml" >/dev/null 2>&1
  else
    OMP_NUM_THREADS=$threads mpiexec -n "$ranks" --oversubscribe ./build/iapt run "$work/$2x$3.yaml" >/dev/null 2>&1
  fi
  python3 - "$out/dp-bench/seed-1/metrics.jsonl" "$label" "$ranks" "$threads" <<'PY'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l][1:]
tps = statistics.median(l["tokens_per_s"] for l in lines)
ms = [l["allreduce_ms"] for l in lines if "allreduce_ms" in l]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {tps:.0f} | {statistics.median(ms):.2f} |" if ms else
      f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {tps:.0f} | - |")
PY
}

echo "| run | ranks | threads per rank | training tokens/s | allreduce ms per step |"
echo "|---|---:|---:|---:|---:|"
row "one process, every core" 1 "$cores"
row "one process, one core" 1 1
row "2 ranks, the cores split" 2 $((cores / 2 > 0 ? cores / 2 : 1))
