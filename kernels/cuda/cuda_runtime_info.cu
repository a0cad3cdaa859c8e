// Compiled where nvcc is found (IAPT_CUDA=AUTO|ON). The CUDA kernels and their backend table
// arrive with the CUDA backend; for now this translation unit proves the toolchain builds and
// links, and lets the CPU-only tests report how many GPUs they skipped.
#include <cuda_runtime.h>

namespace iapt::kernels::cuda {

int visible_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

}  // namespace iapt::kernels::cuda
