#include "kernels/cuda/cuda_allocator.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"

namespace iapt::kernels::cuda {

namespace {
Backend make_table() {
  Backend t{};
  t.name = "cuda";
  t.device_count = visible_device_count;
  t.allocate = cuda_allocate;
  t.release = cuda_release;
  t.allocator_stats = cuda_allocator_stats;
  t.reset_allocator_peak = cuda_allocator_reset_peak;
  t.empty_allocator_cache = cuda_allocator_empty_cache;
  t.transfer = transfer;
  t.synchronize = synchronize;
  // Every kernel reads and writes bf16 and f16 as stored (kernels/cuda/storage_types.cuh).
  t.native_bf16 = kEveryNative16;
  t.native_f16 = kEveryNative16;
  // The kernels every backend fills, and the fused gemm_16bit and SwiGLU (the other fused ones run
  // their fallbacks).
#define IAPT_KERNEL(name, parameters) t.name = name;
#define IAPT_FUSED_KERNEL(name, parameters)
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
  t.gemm_16bit = gemm_16bit;
  t.swiglu = swiglu;
  t.swiglu_backward = swiglu_backward;
  return t;
}
}  // namespace

const Backend& backend() {
  static const Backend table = make_table();
  return table;
}

}  // namespace iapt::kernels::cuda
