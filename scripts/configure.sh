#!/usr/bin/env bash
# Installs what is missing and configures the build folder (sourced by main.sh and test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
# Ninja for a new build folder; an existing one keeps the generator it was configured with.
generator=()
[[ -f build/CMakeCache.txt ]] || generator=(-G Ninja)
# IAPT_WERROR=ON (scripts/test.sh sets it) makes every C++ warning an error.
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DIAPT_WERROR="${IAPT_WERROR:-OFF}"
