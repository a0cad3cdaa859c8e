#pragma once
// The CUDA backend's per-process state: one stream on this process's device (device 0, or under an
// MPI launcher the node-local rank's GPU) that every kernel, copy, cuBLAS call and NCCL reduction is
// queued on (so ordering needs no events), the cuBLAS handle bound to it, and the TF32 switch for
// f32 GEMMs.
#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace iapt::kernels::cuda {

int visible_device_count();
int device();  // the GPU this process computes on
cudaStream_t stream();
cublasHandle_t cublas();
// f32 GEMMs on tensor cores with TF32 inputs (off by default; IAPT_TF32=1 in the environment
// turns it on at start-up).
void set_allow_tf32(bool on);
bool allow_tf32();
void synchronize();

// Launch shape of a grid-stride loop over n elements.
inline unsigned blocks_for(long long n, int threads = 256) {
  long long b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535LL * 8) b = 65535LL * 8;
  return static_cast<unsigned>(b);
}

}  // namespace iapt::kernels::cuda
