#!/usr/bin/env bash
# Installs what is missing, builds iapt, and runs the main job (the embedded default).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/configure.sh
cmake --build build --target iapt
./build/iapt demo "$@"
