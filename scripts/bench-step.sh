#!/usr/bin/env bash
# One training step of IAPT, LoRA and full fine-tuning, iapt against its PyTorch twin
# (experiments/bench/step_torch.py), on the same shapes, inputs and thread count, run one after the
# other on this machine; prints a Markdown table of tokens/s and the ratios:
#   - f32: iapt against PyTorch in f32;
#   - 16-bit: iapt with its frozen weight matrices in bf16 against PyTorch under bf16 autocast
#     (full fine-tuning trains every weight, so it stays f32 in iapt and has no 16-bit row).
# PyTorch gets its best configuration: logits only where a label is (as iapt's response loss; the
# slower all-position head of Hugging Face's LlamaForCausalLM is not timed), the OpenMP OpenBLAS
# (step_torch.py refuses the pthreads build) and the same OpenBLAS kernels as iapt
# (OPENBLAS_CORETYPE from `iapt info`: OpenBLAS 0.3.21 misdetects some CPUs as Prescott).
# Needs the PyTorch of Debian (IAPT_WITH_REFERENCE=1 scripts/install-deps.sh installs it).
#   bash scripts/bench-step.sh [--steps N]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=5
[[ ${1:-} == --steps ]] && steps=$2
IAPT_WITH_REFERENCE=1 bash scripts/install-deps.sh >/dev/null
source scripts/configure.sh >/dev/null
cmake --build build --target iapt iapt_bench_step >/dev/null
threads=$(nproc)
core=$(./build/iapt info | sed -n 's/^openblas core: //p')
[[ -n $core ]] || { echo "bench-step: 'iapt info' names no OpenBLAS core" >&2; exit 1; }
export OPENBLAS_CORETYPE=$core

printf '| method | shape | batch x seq | iapt f32 | PyTorch f32 | iapt / PyTorch, f32 | iapt bf16 weights | PyTorch bf16 autocast | iapt bf16 / PyTorch bf16 | iapt bf16 / iapt f32 | iapt fwd / bwd / opt ms (f32; bf16) | PyTorch fwd / bwd / opt ms (f32; bf16) |\n'
printf '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n'
for case in "en-llama-6m 16" "d512 8"; do
  read -r shape batch <<<"$case"
  for method in iapt lora full; do
    ours() { ./build/iapt_bench_step --json --method "$method" --shape "$shape" --batch "$batch" --seq 256 --steps "$steps" --dtype "$1"; }
    twin() {
      /usr/bin/python3 experiments/bench/step_torch.py --method "$method" --shape "$shape" --batch "$batch" \
        --seq 256 --steps "$steps" --threads "$threads" --head response --autocast "$1"
    }
    f32=$(ours f32)
    torch_f32=$(twin none)
    if [[ $method == full ]]; then bf16=null; torch_bf16=null; else bf16=$(ours bf16); torch_bf16=$(twin bf16); fi
    /usr/bin/python3 - "$f32" "$torch_f32" "$bf16" "$torch_bf16" <<'PY'
import json, sys
a, b, c, d = (json.loads(x) for x in sys.argv[1:5])
assert a["trainable"] == b["trainable"], f"tunable parameters differ: iapt {a['trainable']}, PyTorch {b['trainable']}"
ms = lambda r: f"{r['forward_ms']:.0f} / {r['backward_ms']:.0f} / {r['optimizer_ms']:.0f}" if r else "-"
t = lambda r: f"{r['tokens_per_s']:.0f}" if r else "-"
ratio = lambda x, y: f"{x['tokens_per_s'] / y['tokens_per_s']:.2f}" if x and y else "-"
print(f"| {a['method']} | {a['shape']} | {a['batch']} x {a['seq']} | {t(a)} | {t(b)} | {ratio(a, b)} | {t(c)} | {t(d)} | "
      f"{ratio(c, d)} | {ratio(c, a)} | {ms(a)}; {ms(c)} | {ms(b)}; {ms(d)} |")
PY
  done
done
echo "threads: $threads (OpenBLAS for iapt, torch.set_num_threads for PyTorch); OPENBLAS_CORETYPE=$core for both; $(./build/iapt info | sed -n 's/^cpu: //p'); $(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)'); PyTorch's BLAS: $(/usr/bin/python3 -c 'import json,sys; print(", ".join(json.loads(sys.argv[1])["blas"]))' "$torch_f32")"
