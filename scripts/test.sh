#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test through ctest: the main build's
# suite, then the sanitizer build's (scripts/test-sanitizers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
IAPT_WERROR=ON source scripts/configure.sh
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
# Then the suite again under ASan and UBSan, and the parsers' fuzzers (IAPT_SANITIZERS=0 skips it).
if [[ "${IAPT_SANITIZERS:-1}" != "0" ]]; then
  bash scripts/test-sanitizers.sh "$@"
fi
