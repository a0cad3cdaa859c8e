#!/usr/bin/env bash
# One training step of IAPT, LoRA and full fine-tuning, iapt against its PyTorch twin
# (experiments/bench/step_torch.py), on the same shapes, inputs and thread count, run one after the
# other on this machine; prints a Markdown table with the ratio of tokens/s (iapt / PyTorch).
# Needs the PyTorch of Debian (IAPT_WITH_REFERENCE=1 scripts/install-deps.sh installs it).
#   bash scripts/bench-step.sh [--steps N]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=5
[[ ${1:-} == --steps ]] && steps=$2
IAPT_WITH_REFERENCE=1 bash scripts/install-deps.sh >/dev/null
source scripts/configure.sh >/dev/null
cmake --build build --target iapt_bench_step >/dev/null
threads=$(nproc)

# PyTorch runs twice: with logits at every position, as Hugging Face's LlamaForCausalLM makes them,
# and with logits only where a label is, as iapt's response loss makes them.
printf '| method | shape | batch x seq | iapt tokens/s | PyTorch tokens/s (all logits / response logits) | iapt / PyTorch (all / response) | iapt fwd / bwd / opt ms | PyTorch fwd / bwd / opt ms (all logits) | iapt GFLOP/s | sgemm ceiling GFLOP/s |\n'
printf '|---|---|---|---:|---|---|---|---|---:|---:|\n'
for case in "en-llama-6m 16" "d512 8"; do
  read -r shape batch <<<"$case"
  for method in iapt lora full; do
    ours=$(./build/iapt_bench_step --json --method "$method" --shape "$shape" --batch "$batch" --seq 256 --steps "$steps")
    twin() {
      /usr/bin/python3 experiments/bench/step_torch.py --method "$method" --shape "$shape" --batch "$batch" \
        --seq 256 --steps "$steps" --threads "$threads" --head "$1"
    }
    all=$(twin all)
    response=$(twin response)
    /usr/bin/python3 - "$ours" "$all" "$response" <<'PY'
import json, sys
a, b, c = (json.loads(x) for x in sys.argv[1:4])
assert a["trainable"] == b["trainable"], f"tunable parameters differ: iapt {a['trainable']}, PyTorch {b['trainable']}"
ms = lambda r: f"{r['forward_ms']:.0f} / {r['backward_ms']:.0f} / {r['optimizer_ms']:.0f}"
t = lambda r: r["tokens_per_s"]
print(f"| {a['method']} | {a['shape']} | {a['batch']} x {a['seq']} | {t(a):.0f} | {t(b):.0f} / {t(c):.0f} | "
      f"{t(a) / t(b):.2f} / {t(a) / t(c):.2f} | {ms(a)} | {ms(b)} | {a['gflops']:.1f} | {a['gemm_ceiling_gflops']:.1f} |")
PY
  done
done
echo "threads: $threads (OpenBLAS for iapt, torch.set_num_threads for PyTorch); $(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)')"
