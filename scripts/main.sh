#!/usr/bin/env bash
# Installs what is missing, builds iapt, and runs the main job.
#   bash scripts/main.sh             the embedded default, on WordNet (Debian's wordnet-base):
#                                    its data, a backbone pretrained on its glosses, then IAPT,
#                                    prompt tuning and LoRA on its category task
#   bash scripts/main.sh FILE.yaml   any experiment file instead: its sweep, then its table
# Finished steps are kept: a second call reuses the data, the backbone and every finished run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/configure.sh
cmake --build build --target iapt
jobs=${IAPT_JOBS:-2}

if (($# > 0)); then
  ./build/iapt sweep "$@" --jobs "$jobs"
  exit 0
fi

export IAPT_MAIN_DIR=${IAPT_MAIN_DIR:-$PWD/runs/main}
if [[ ! -f $IAPT_MAIN_DIR/data/manifest.json ]]; then
  ./build/iapt wordnet --out "$IAPT_MAIN_DIR/data"
fi
if [[ ! -f $IAPT_MAIN_DIR/backbone/training.json ]]; then
  ./build/iapt pretrain --corpus "$IAPT_MAIN_DIR/data/corpus.txt" --valid "$IAPT_MAIN_DIR/data/valid.txt" \
    --out "$IAPT_MAIN_DIR/backbone" --steps "${IAPT_PRETRAIN_STEPS:-1200}"
fi
./build/iapt sweep experiments/configs/wordnet_main.yaml --jobs "$jobs"
