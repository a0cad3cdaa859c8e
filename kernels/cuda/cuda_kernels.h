#pragma once
// Declarations of the CUDA kernels that fill the CUDA backend table (cuda_backend.cu): the
// kernels of core/backend_kernels.inc that every backend fills. Each takes tensors on the GPU,
// laid out as the matching CPU kernel expects. Of the fused kernels gemm_16bit and SwiGLU are
// written for CUDA; the others run their fallbacks.
#include "core/backend.h"

namespace iapt::kernels::cuda {

void transfer(const Tensor& src, const Tensor& dst);

#define IAPT_KERNEL(name, parameters) void name parameters;
#define IAPT_FUSED_KERNEL(name, parameters)
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL

void gemm_16bit(const Tensor& a, const Tensor& w, bool trans_a, bool trans_w, const Tensor& out);
void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out);
void swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& grad_out, const Tensor& grad_gate,
                     const Tensor& grad_up);

}  // namespace iapt::kernels::cuda
