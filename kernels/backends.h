#pragma once
// Start-up of the kernels layer: registers the CPU backend and, in a build with CUDA, the CUDA
// backend with core's dispatch table (core/backend.h). Every program calls it once before it makes
// a tensor (main(), the test runners, the benchmarks, the fuzz targets); calling it again is
// harmless. Explicit rather than a static initialiser, so no program depends on the order in
// which libraries are loaded.
namespace iapt {

namespace kernels {
void register_backends();

// Call first in main(): where OpenBLAS did not recognise the CPU and loaded generic kernels though
// the CPU has AVX2 or AVX-512, restarts the program (same arguments) with OPENBLAS_CORETYPE naming
// the kernels it supports; otherwise returns. A set OPENBLAS_CORETYPE is always left alone.
void restart_if_blas_misdetects_cpu(char** argv);
}  // namespace kernels

// The threads the CPU backend runs on (OpenMP's, shared with BLAS; OMP_NUM_THREADS sets them).
int cpu_threads();

}  // namespace iapt
