#!/usr/bin/env bash
# One backbone serving many tenants: IAPT against LoRA (unmerged, per-row adapters gathered into
# one batched product) and the bare backbone, over tenant counts and batch sizes; one Markdown
# table with each method's throughput ratio to the bare backbone and IAPT / LoRA.
#   bash scripts/bench-serve.sh [MODEL_DIR] [--device cuda]
# MODEL_DIR defaults to ../shared/models/en-llama-6m (IAPT_SHARED overrides ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-${IAPT_SHARED:-$PWD/../shared}/models/en-llama-6m}
shift || true
source scripts/configure.sh >/dev/null
cmake --build build --target iapt >/dev/null
prompt=${IAPT_SERVE_PROMPT:-64}
new=${IAPT_SERVE_NEW:-32}
echo "model $model, prompt $prompt tokens, $new new tokens per request, greedy; row r served by tenant r mod T"
header=--header
for tenants in 1 8 64; do
  for batch in 8 32; do
    ./build/iapt bench serve --model "$model" --method all --tenants "$tenants" --batch "$batch" \
      --prompt-len "$prompt" --new-tokens "$new" $header "$@"
    header=
  done
done
