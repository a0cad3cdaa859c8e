#!/usr/bin/env bash
# `iapt score` one pair at a time against padded batches, as an evaluation harness ranks answers:
# each of the first N SST-2 dev sentences with both label words as continuations ("... Sentiment:"
# + " positive" / " negative"), on en-llama-6m. Prints a Markdown table: seconds (median of 3 runs
# of the whole command, model loading included), pairs per second, the speed-up over one at a time,
# and the largest difference of a batched log-probability from the one-at-a-time one. Needs the
# shared models and data (IAPT_SHARED).
#   bash scripts/bench-score.sh [N]     (default 200 sentences: 400 pairs)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${IAPT_SHARED:-$PWD/../shared}
n=${1:-200}
model=$shared/models/en-llama-6m
[[ -d $model && -f $shared/data/glue/SST-2/dev.tsv ]] || { echo "bench-score: no $model or SST-2 (set IAPT_SHARED)" >&2; exit 1; }
source scripts/configure.sh >/dev/null
cmake --build build --target iapt >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$shared/data/glue/SST-2/dev.tsv" "$n" > "$work/pairs.jsonl" <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t", quoting=csv.QUOTE_NONE))[: int(sys.argv[2])]
for r in rows:
    for word in (" positive", " negative"):
        print(json.dumps({"context": "Review: " + r["sentence"].strip() + "\nSentiment:", "continuation": word}))
EOF
pairs=$(wc -l < "$work/pairs.jsonl")

# the median of 3 runs of the whole command
time_score() {  # batch size, padding -> median seconds; writes $work/out-B-P.jsonl
  local t=() s e
  for _ in 1 2 3; do
    s=$(date +%s%N)
    ./build/iapt score --model "$model" --input "$work/pairs.jsonl" --batch-size "$1" --padding "$2" \
      --output "$work/out-$1-$2.jsonl"
    e=$(date +%s%N)
    t+=($(((e - s) / 1000000)))
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n 2p
}

base_ms=$(time_score 1 right)
echo "| pairs | batch | padding | seconds (median of 3) | pairs/s | speed-up | largest logprob difference |"
echo "|---:|---:|---|---:|---:|---:|---:|"
row() {  # batch, padding, milliseconds
  local diff
  diff=$(python3 - "$work/out-1-right.jsonl" "$work/out-$1-$2.jsonl" <<'EOF'
import json, sys
a = [json.loads(l)["logprob"] for l in open(sys.argv[1])]
b = [json.loads(l)["logprob"] for l in open(sys.argv[2])]
assert len(a) == len(b)
print(f"{max(abs(x - y) for x, y in zip(a, b)):.2g}")
EOF
)
  awk -v p="$pairs" -v b="$1" -v pad="$2" -v ms="$3" -v base="$base_ms" -v d="$diff" \
    'BEGIN { printf "| %d | %d | %s | %.2f | %.0f | %.2fx | %s |\n", p, b, pad, ms / 1000, p / (ms / 1000), base / ms, d }'
}
row 1 right "$base_ms"
for b in 8 32; do
  for pad in right left; do row "$b" "$pad" "$(time_score "$b" "$pad")"; done
done
head -1 "$work/pairs.jsonl" > "$work/one.jsonl"
cp "$work/one.jsonl" "$work/pairs.jsonl"
echo
echo "$(nproc) cores, OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}; the times include starting iapt and loading the model:"
echo "one pair alone takes $(awk -v ms="$(time_score 1 right)" 'BEGIN { printf "%.2f", ms / 1000 }') s."
