#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test: the main build's suite through
# ctest, sweeps on a one-node SLURM cluster (scripts/test-slurm.sh), then the sanitizer build's suite
# (scripts/test-sanitizers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
IAPT_WERROR=ON source scripts/configure.sh
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
# Sweeps submitted to a real one-node SLURM cluster (skipped, saying why, where its daemons cannot
# start here); after ctest, whose runs would share the cores with the cluster's.
bash scripts/test-slurm.sh build/iapt || { status=$?; ((status == 77)) || exit "$status"; }
# Then the suite again under ASan and UBSan, and the parsers' fuzzers (IAPT_SANITIZERS=0 skips it).
if [[ "${IAPT_SANITIZERS:-1}" != "0" ]]; then
  bash scripts/test-sanitizers.sh "$@"
fi
