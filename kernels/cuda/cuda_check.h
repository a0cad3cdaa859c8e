#pragma once
// Checks of every CUDA runtime call, cuBLAS call and kernel launch; the error names the file and
// line of the call.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

#define IAPT_CUDA_CHECK(call)                                                                              \
  do {                                                                                                     \
    cudaError_t iapt_err_ = (call);                                                                        \
    if (iapt_err_ != cudaSuccess)                                                                          \
      throw ::iapt::Error(::fmt::format("{}:{}: CUDA error {} ({}) in {}", __FILE__, __LINE__,             \
                                        cudaGetErrorName(iapt_err_), cudaGetErrorString(iapt_err_), #call)); \
  } while (0)

#define IAPT_CUBLAS_CHECK(call)                                                                            \
  do {                                                                                                     \
    cublasStatus_t iapt_st_ = (call);                                                                      \
    if (iapt_st_ != CUBLAS_STATUS_SUCCESS)                                                                 \
      throw ::iapt::Error(::fmt::format("{}:{}: cuBLAS error {} ({}) in {}", __FILE__, __LINE__,           \
                                        cublasGetStatusName(iapt_st_), cublasGetStatusString(iapt_st_),    \
                                        #call));                                                           \
  } while (0)

namespace iapt::kernels::cuda {
// IAPT_CUDA_SYNC=1 in the environment: wait for every kernel as it is launched, so that a fault
// inside one is reported at its own launch instead of at a later, unrelated call.
bool sync_after_launch();
void check_launch(const char* kernel_name, const char* file, int line);
}  // namespace iapt::kernels::cuda

// After a <<<...>>> launch: a bad configuration (and, with IAPT_CUDA_SYNC=1, a fault in the
// kernel) is reported here, with the kernel's name, file and line.
#define IAPT_LAUNCH_CHECK(kernel_name) ::iapt::kernels::cuda::check_launch(kernel_name, __FILE__, __LINE__)
