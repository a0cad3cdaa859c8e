#!/usr/bin/env bash
# The sanitizer stage of the tests: the whole suite built with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer (any finding fails its test), and the libFuzzer targets for the
# parsers, each run for IAPT_FUZZ_SECONDS (default 30) from its committed seeds. CPU only; the
# build folder is build-asan. scripts/test.sh runs it after the main suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
generator=()
[[ -f build-asan/CMakeCache.txt ]] || generator=(-G Ninja)
# -O1 keeps the suite quick under the sanitizers and the reports' stacks readable.
CC=clang CXX=clang++ cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DIAPT_CUDA=OFF -DIAPT_FUZZ=ON \
  -DIAPT_FUZZ_SECONDS="${IAPT_FUZZ_SECONDS:-30}"
cmake --build build-asan
# The results-tables check reads committed files with the main build's tools; it is the same
# under the sanitizers and only slower, so the main suite alone runs it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# One thread per test: ctest runs one test per core, and OpenMP threads waiting for a busy core
# spin (the sanitizers make that several times slower than it already is). The core count is
# taken first: nproc reports OMP_NUM_THREADS once it is set.
jobs=$(nproc)
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
ctest --test-dir build-asan --output-on-failure -j "$jobs" -E '^docs:' "$@"
