#!/usr/bin/env bash
# bf16 activations (compute: bf16) against f32 activations, both with the weight matrices in bf16:
# one training step of IAPT and LoRA on the en-llama-6m shape (16 x 256), and of IAPT on LLaMA-2
# 7B's shape (2 x 128) where its checkpoint exists (scripts/bench-7b.sh writes it). Each row's
# two runs are separate processes, one after the other; prints a Markdown table of tokens/s, step
# times and peak resident memory (the process's own measure, the mapped checkpoint included).
#   bash scripts/bench-compute.sh [7B_DIR]      (default 7B_DIR: runs/llama2-7b-shape)
set -euo pipefail
cd "$(dirname "$0")/.."
big=${1:-runs/llama2-7b-shape}
source scripts/configure.sh >/dev/null
cmake --build build --target iapt_bench_step >/dev/null

step() {  # prints: tokens/s step_ms peak_mb
  ./build/iapt_bench_step --json --dtype bf16 "$@" |
    python3 -c 'import json, sys; j = json.loads(sys.stdin.readlines()[-1]); print(j["tokens_per_s"], j["step_ms"], j["peak_resident_mb"])'
}
row() {  # label, then iapt_bench_step's options
  local label=$1
  shift
  read -r t32 s32 m32 <<<"$(step --compute f32 "$@")"
  read -r t16 s16 m16 <<<"$(step --compute bf16 "$@")"
  printf '| %s | %.2f (%.0f ms) | %.2f (%.0f ms) | %.2f | %.0f | %.0f | %.0f |\n' "$label" "$t32" "$s32" "$t16" "$s16" \
    "$(python3 -c "print($t16 / $t32)")" "$m32" "$m16" "$(python3 -c "print($m32 - $m16)")"
}

echo "| workload | activations f32: tokens/s (step) | bf16: tokens/s (step) | bf16 / f32 speed | f32: peak MB | bf16: peak MB | saved MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row "IAPT step, en-llama-6m, 16 x 256" --method iapt --shape en-llama-6m
row "LoRA step, en-llama-6m, 16 x 256" --method lora --shape en-llama-6m
if [[ -f $big/model.safetensors.index.json ]]; then
  # one step each, after one warm-up step that pages the 13.5 GB of weights in
  row "IAPT step, LLaMA-2 7B shape, 2 x 128" --method iapt --model "$big" --batch 2 --seq 128 --steps 1 --warmup 1
else
  echo "(no LLaMA-2 7B-shaped checkpoint at $big: run scripts/bench-7b.sh first for that row)" >&2
fi
