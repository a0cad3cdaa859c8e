#!/usr/bin/env bash
# LLaMA-2 7B's shape in bf16 on this machine: writes a checkpoint of that shape with random weights
# (scripts/make-llama-shape.py, 13.5 GB; kept for later runs), then measures generation and one
# IAPT training step with the weights in bf16, and prints a Markdown table of tokens/s, times and
# peak resident memory (the whole process, the mapped checkpoint included). f32 weights would need
# 27 GB, more than a 24 GB machine has, so no f32 row is attempted.
#   bash scripts/bench-7b.sh [DIR]        (default DIR: runs/llama2-7b-shape; needs 14 GB free)
# Needs numpy for the checkpoint (IAPT_WITH_REFERENCE=1 scripts/install-deps.sh installs it), and
# IAPT_SHARED (default ../shared) for the LLaMA-2 tokenizer.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-runs/llama2-7b-shape}
shared=${IAPT_SHARED:-../shared}
source scripts/configure.sh >/dev/null
cmake --build build --target iapt iapt_bench_step >/dev/null
if [[ ! -f $dir/model.safetensors.index.json ]]; then
  IAPT_WITH_REFERENCE=1 bash scripts/install-deps.sh >/dev/null
  /usr/bin/python3 scripts/make-llama-shape.py --out "$dir" --shape llama2-7b \
    --tokenizer "$shared/tokenizers/llama2/tokenizer.model" >&2
fi
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
peak_mb() { awk '/Maximum resident set size/ {printf "%.0f", $6 / 1024}' "$1"; }
# GNU time's report, or, where it is not installed, the peak the benchmark itself measured
timed() { if [[ -x /usr/bin/time ]]; then /usr/bin/time -v -o "$1" "${@:2}"; else "${@:2}"; fi; }

echo "| workload | batch x tokens | tokens/s | time | peak resident MB |"
echo "|---|---|---:|---|---:|"
for method in none iapt; do
  timed "$log/gen-$method" ./build/iapt bench serve --model "$dir" --dtype bf16 --method "$method" --tenants 1 \
    --batch 1 --prompt-len 16 --new-tokens 8 --repeats 1 >"$log/gen-$method.md"
  # | method | tenants | batch | prompt | new tokens | adapter parameters | tokens/s | TTFT ms | TPOT ms | peak MB |
  row=$(grep "^| $method |" "$log/gen-$method.md")
  IFS='|' read -r _ _ _ batch prompt new _ tps ttft tpot _ <<<"$row"
  echo "| generation ($method), greedy | $((batch)) x ($((prompt)) prompt + $((new)) new) | $(echo $tps) | first token $(echo $ttft) ms, then $(echo $tpot) ms each | $(peak_mb "$log/gen-$method" 2>/dev/null || echo -) |"
done
timed "$log/step" ./build/iapt_bench_step --json --model "$dir" --dtype bf16 --method iapt --batch 2 --seq 64 \
  --steps 1 --warmup 1 >"$log/step.json"
/usr/bin/python3 - "$log/step.json" "$(peak_mb "$log/step" 2>/dev/null || echo)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
peak = sys.argv[2] or f"{r['peak_resident_mb']:.0f}"
print(f"| IAPT training step (response loss, backward, AdamW) | {r['batch']} x {r['seq']} | {r['tokens_per_s']:.1f} | "
      f"forward {r['forward_ms'] / 1e3:.1f} s, backward {r['backward_ms'] / 1e3:.1f} s | {peak} |")
PY
echo "LLaMA-2 7B shape (32 layers, d 4096, ffn 11008, vocab 32000; 6.74e9 parameters), weights bf16 from $dir;" \
  "$(nproc) threads; $(./build/iapt info | sed -n 's/^cpu: //p'); denormals ${IAPT_DENORMALS:-flush}"
