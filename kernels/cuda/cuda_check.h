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

// After a <<<...>>> launch: a bad configuration is reported here, with the kernel's name.
#define IAPT_LAUNCH_CHECK(kernel_name)                                                                     \
  do {                                                                                                     \
    cudaError_t iapt_err_ = cudaGetLastError();                                                            \
    if (iapt_err_ != cudaSuccess)                                                                          \
      throw ::iapt::Error(::fmt::format("{}:{}: launch of {} failed: {} ({})", __FILE__, __LINE__,         \
                                        kernel_name, cudaGetErrorName(iapt_err_),                          \
                                        cudaGetErrorString(iapt_err_)));                                   \
  } while (0)
