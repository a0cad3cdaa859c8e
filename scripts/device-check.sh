#!/usr/bin/env bash
# The GPU checks, run on a lent GPU machine (it has nvcc, CMake and Ninja but no Debian packages):
# builds with the carried Debian libraries, runs every test (the CUDA parity groups included), a
# training run on each device, the GPU benchmarks (kernels, a training step, multi-tenant serving)
# and the CPU benchmark, and writes the logs and tables under $OUT.
# Prepare here:  ../shared/device/make-deps-bundle.sh   (writes .deps.tar.xz; git ignores it), with
# PCRE2 (libpcre2-dev libpcre2-8-0, which tokenizer.json needs and the default list lacks) and the
# Open MPI packages scripts/device-mpi.sh lists, for the data-parallel checks on the GPU
# (the bundle's default OpenBLAS is the pthreads build, which the build accepts with a warning;
# IAPT_DEVICE_PKGS naming libopenblas-openmp-dev and libopenblas0-openmp instead gives the OpenMP one)
# Then run there with .deps.tar.xz carried:  bash scripts/device-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/iapt-device-out}
mkdir -p "$OUT"
tar xf .deps.tar.xz
D=$PWD/.deps/usr
export LD_LIBRARY_PATH=$D/lib/x86_64-linux-gnu:$D/lib/x86_64-linux-gnu/openblas-openmp:$D/lib/x86_64-linux-gnu/openblas-pthread:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$OUT/gpu.txt" 2>&1
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
source scripts/device-mpi.sh >"$OUT/mpi.txt" 2>&1
{
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DIAPT_CUDA=ON "${MPI_CMAKE_ARGS[@]}" \
    -DCMAKE_CUDA_ARCHITECTURES="${arch:-90}" -DCMAKE_PREFIX_PATH="$D" -DCMAKE_LIBRARY_PATH="$D/lib/x86_64-linux-gnu" &&
    cmake --build build-gpu -j "$(nproc)"
} >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
# the CPU suite through ctest; the parity groups directly, for their per-case worst errors
ctest --test-dir build-gpu --output-on-failure -j 8 -E "cuda parity" >"$OUT/ctest.log" 2>&1
ctest_rc=$?
parity_rc=0
for g in $(build-gpu/tests/iapt_parity --list); do
  IAPT_CUDA_SYNC=1 build-gpu/tests/iapt_parity "$g" || parity_rc=1
done >"$OUT/parity.txt" 2>&1
# A training run end to end on each device: the same tiny model, data and seed; the losses agree.
run_parity() {
  local w=$OUT/run-parity fx=$PWD/tests/fixtures
  mkdir -p "$w/data/glue/SST-2"
  for split in train dev; do
    { printf 'sentence\tlabel\n'
      for i in $(seq 1 48); do printf 'the film was %s number %d\t%d\n' "$([ $((i % 2)) = 0 ] && echo good || echo bad)" "$i" $((1 - i % 2)); done
    } >"$w/data/glue/SST-2/$split.tsv"
  done
  for device in cpu cuda; do
    printf 'name: %s\noutput_dir: %s\ndevice: %s\nbackbone: {path: %s/llama-gqa, tokenizer: %s/tiny-tokenizer/tokenizer.model}\n' \
      "$device" "$w/runs" "$device" "$fx" "$fx" >"$w/$device.yaml"
    printf 'method: {name: iapt, soft_tokens: 2, bottleneck: 6}\ntask: {name: sst2, data_dir: %s/data, max_length: 32}\n' "$w" >>"$w/$device.yaml"
    printf 'training: {lr: 0.01, steps: 20, batch_size: 8, eval_every: 10, checkpoint_every: 10, log_every: 5}\n' >>"$w/$device.yaml"
    build-gpu/iapt run "$w/$device.yaml" || return 1
  done
  grep -h '"final_loss"\|accuracy' "$w/runs/cpu/seed-1/summary.json" "$w/runs/cuda/seed-1/summary.json"
}
run_parity >"$OUT/run_parity.txt" 2>&1
# Data-parallel on the GPU: 2 ranks sharing it (their gradients summed through host memory, since
# NCCL refuses two ranks on one GPU) take one process's steps; where the bundle has MPI.
timeout 300 build-gpu/tests/iapt_data_parallel_check --device cuda >"$OUT/data_parallel_cuda.txt" 2>&1
dp_rc=$?
((dp_rc == 77)) && dp_rc=0  # skipped: no MPI
timeout 180 build-gpu/iapt_bench_cuda >"$OUT/bench_cuda.md" 2>&1
timeout 60 build-gpu/iapt_bench >"$OUT/bench_cpu.md" 2>&1
# a training step of each method on the GPU, and multi-tenant serving (random weights of the
# en-llama-6m shape: the shared models are not on this machine)
for m in iapt lora full; do
  timeout 60 build-gpu/iapt_bench_step --device cuda --method "$m" --json
done >"$OUT/bench_step_cuda.jsonl" 2>&1
{
  h=--header
  for t in 1 8 64; do for b in 8 32; do
    timeout 60 build-gpu/iapt bench serve --shape en-llama-6m --device cuda --method all --tenants $t --batch $b \
      --prompt-len 64 --new-tokens 32 $h
    h=
  done; done
} >"$OUT/bench_serve_cuda.md" 2>&1
cat "$OUT/gpu.txt"
grep -E "tests passed|tests failed" "$OUT/ctest.log"
grep -E "^FAIL|passed, .* failed" "$OUT/parity.txt"
tail -8 "$OUT/run_parity.txt"
cat "$OUT/mpi.txt"
tail -12 "$OUT/data_parallel_cuda.txt"
cat "$OUT/bench_cuda.md" "$OUT/bench_step_cuda.jsonl" "$OUT/bench_serve_cuda.md"
exit $((ctest_rc | parity_rc | dp_rc))
