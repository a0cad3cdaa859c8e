#!/usr/bin/env bash
# Stages the study's finished runs for a commit: each run folder under experiments/results that holds a
# summary.json (its config, data, metrics, diagnostics, predictions and summary; .gitignore keeps out
# weights and logs), and each sweep's own files (run configs, sweep.json, selection, tables, start.md, plots).
# A run still training is left out, so a commit never holds half a run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=experiments/results
[[ -d $root ]] || exit 0
find "$root" -name summary.json -print0 | while IFS= read -r -d '' summary; do
  git add -- "$(dirname "$summary")"
done
find "$root" -maxdepth 4 -type f \( -name 'seed-*.yaml' -o -name 'sweep.json' -o -name 'selection.*' \
  -o -name 'table.*' -o -name 'start.md' -o -name '*.png' \) -print0 | xargs -0 -r git add --
git status --short -- "$root" | awk '{print $1}' | sort | uniq -c
