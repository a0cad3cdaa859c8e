#!/usr/bin/env bash
# Installs, from Debian's packages, whatever the build and the tests need and this machine lacks.
# Safe to run repeatedly: it asks apt only for the missing packages.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libeigen3-dev libopenblas-openmp-dev  # OpenBLAS on OpenMP threads, shared with the kernels
  libyaml-cpp-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev libsentencepiece-dev
  libpcre2-dev  # tokenizer.json's pre-tokeniser expressions (Unicode classes)
  gnuplot-nox
  python3  # scripts/results-tables.py, which a test runs to keep docs/results.md true to the runs
  wordnet-base  # the main job's data
  libopenmpi-dev openmpi-bin  # data-parallel runs (optim/communicator.cpp) and their test
  slurm-wlm munge  # scripts/test-slurm.sh: sweeps on a one-node SLURM cluster started by the test
  clang libclang-rt-dev libomp-dev  # the sanitizer build and the fuzzers (scripts/test-sanitizers.sh)
  chromium  # report.html in a real browser (tests/browser/)
)
# Only for regenerating the committed fixtures (tests/reference) and for the benchmarks against
# PyTorch and oneDNN (scripts/bench-step.sh, iapt_bench_onednn); never needed by the tests.
if [[ "${IAPT_WITH_REFERENCE:-0}" == "1" ]]; then
  packages+=(python3 python3-torch python3-numpy sentencepiece libdnnl-dev nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: missing ${missing[*]}; run this script as root, or install sudo" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
