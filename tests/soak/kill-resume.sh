#!/usr/bin/env bash
# Kill-and-resume soak: one run on the tiny fixture model is killed with SIGKILL at KILLS random
# moments (inside a step, a checkpoint write, an evaluation, the start-up) and started again after
# each; it must end identical to the same run never killed: predictions and best adapter the same to
# the byte, metrics and diagnostics the same line by line, the summary the same apart from its
# timings and the "resumed" flag.
# Usage: tests/soak/kill-resume.sh IAPT_BINARY [KILLS] [SEED] [STEPS]   (STEPS: the run's length, 4000)
set -euo pipefail
iapt=$1 kills=${2:-20} seed=${3:-1} steps=${4:-4000}
fixtures=$(cd "$(dirname "$0")/../fixtures" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
RANDOM=$seed  # the kill moments are reproducible

# a small SST-2-format task: "the NOUN was ADJECTIVE", labelled by the adjective
source "$(dirname "$0")/../tiny_sst2.sh"
write_tiny_sst2 "$work/data" 96 24
config() {  # $1: the output folder
  cat <<YAML
name: soak
seed: 3
output_dir: $work/$1
backbone: {path: $fixtures/llama-gqa, tokenizer: $fixtures/tiny-tokenizer/tokenizer.model}
method: {name: iapt, soft_tokens: 2, bottleneck: 6, activation: {kind: rational, version: B, degrees: [3, 2], init: gelu}}
task: {name: sst2, data_dir: $work/data, max_length: 32}
training: {lr: 0.01, steps: $steps, batch_size: 8, eval_every: 50, checkpoint_every: 7, log_every: 2, diagnostics_every: 5}
YAML
}
config plain > "$work/plain.yaml"
config killed > "$work/killed.yaml"
export OMP_NUM_THREADS=1

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# the uninterrupted run, timed: T its whole time, C the time until its first checkpoint exists
started=$(now_ms) first_ckpt_ms=
"$iapt" run "$work/plain.yaml" > "$work/plain.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2> /dev/null; do
  [[ -z $first_ckpt_ms && -f $work/plain/soak/seed-3/last/state.safetensors ]] && first_ckpt_ms=$(($(now_ms) - started))
  sleep 0.01
done
wait "$pid" || { cat "$work/plain.log"; exit 1; }
took_ms=$(($(now_ms) - started))
[[ -n $first_ckpt_ms ]] || { echo "FAIL: the uninterrupted run wrote no checkpoint while running"; exit 1; }
((first_ckpt_ms > 0)) || first_ckpt_ms=1
echo "uninterrupted run: ${took_ms} ms, its first checkpoint after ${first_ckpt_ms} ms"
# Kills alternate between two kinds. An early kill comes at a random moment before C: in the
# start-up, the first steps or the first checkpoint's write, where the run makes no progress. A late
# kill comes between C and 1.5 C + W, after the restarted run has written a checkpoint (when its
# start-up is as fast as the measured one's), so the run moves on. W is 1/(2 KILLS) of the run's time,
# so the late kills together cover a small part of it and the run is still going at the last even
# where load slows it. Killing goes on past KILLS until a checkpoint exists, so the last start
# resumes whatever the machine's speed (with kills at any moment in a window of T / (2 KILLS), a
# loaded machine once saw every kill land before the first checkpoint and the run never resumed).
window_ms=$((took_ms / (2 * kills) > 20 ? took_ms / (2 * kills) : 20))
state=$work/killed/soak/seed-3/last/state.safetensors
landed=0 attempts=0
while ((landed < kills)) || [[ ! -f $state ]]; do
  ((++attempts > 10 * kills)) && { echo "FAIL: the run kept finishing before its kill ($landed of $kills landed)"; exit 1; }
  [[ -f $work/killed/soak/seed-3/summary.json ]] && { echo "FAIL: the run finished after $landed of $kills kills; make it longer"; exit 1; }
  "$iapt" run "$work/killed.yaml" >> "$work/killed.log" 2>&1 &
  pid=$!
  if ((attempts % 2)); then delay_ms=$((RANDOM % first_ckpt_ms))
  else delay_ms=$((first_ckpt_ms + RANDOM % (first_ckpt_ms / 2 + window_ms))); fi
  sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
  if kill -9 "$pid" 2> /dev/null; then
    wait "$pid" 2> /dev/null || true
    landed=$((landed + 1))
  else
    wait "$pid" || { echo "FAIL: a restarted run failed:"; tail -5 "$work/killed.log"; exit 1; }
  fi
done
"$iapt" run "$work/killed.yaml" >> "$work/killed.log" 2>&1 || { echo "FAIL: the last restart failed:"; tail -5 "$work/killed.log"; exit 1; }

a=$work/plain/soak/seed-3 b=$work/killed/soak/seed-3
status=0
for f in predictions/dev.jsonl predictions/test.jsonl best/adapter.safetensors data.json; do
  cmp -s "$a/$f" "$b/$f" || { echo "FAIL: $f differs"; status=1; }
done
# the two runs differ in where they were written alone
cmp -s <(grep -v '^output_dir:' "$a/config.yaml") <(grep -v '^output_dir:' "$b/config.yaml") ||
  { echo "FAIL: config.yaml differs"; status=1; }
python3 - "$a" "$b" << 'PY' || status=1
import json, sys
a, b = sys.argv[1:3]
def lines(path, drop):
    out = []
    for line in open(path):
        j = json.loads(line)
        for k in drop: j.pop(k, None)
        out.append(j)
    return out
bad = False
for name, drop in [("metrics.jsonl", ["tokens_per_s"]), ("diagnostics.jsonl", [])]:
    if lines(f"{a}/{name}", drop) != lines(f"{b}/{name}", drop):
        print(f"FAIL: {name} differs"); bad = True
sa, sb = json.load(open(f"{a}/summary.json")), json.load(open(f"{b}/summary.json"))
if not sb.get("resumed"):
    print("FAIL: the killed run's summary does not say it resumed"); bad = True
for s in (sa, sb):
    for k in ("wall_seconds", "resumed"): s.pop(k, None)
if sa != sb:
    print("FAIL: summary.json differs:", {k: (sa.get(k), sb.get(k)) for k in set(sa) | set(sb) if sa.get(k) != sb.get(k)}); bad = True
sys.exit(1 if bad else 0)
PY
((status == 0)) && echo "kill-and-resume soak: $landed SIGKILLs landed in $attempts starts; the run ended identical to one never killed"
exit $status
