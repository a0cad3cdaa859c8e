#!/usr/bin/env bash
# Installs what is missing, builds iapt, and runs the main job (the embedded default).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --target iapt
./build/iapt demo "$@"
