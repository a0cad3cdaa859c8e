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
  t.bf16_elementwise = true;  // binary, unary and its backward; swiglu has no fused kernel here yet
  // The kernels every backend fills; of the fused ones only gemm_16bit (the others' fallbacks run).
#define IAPT_KERNEL(name, parameters) t.name = name;
#define IAPT_FUSED_KERNEL(name, parameters)
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
  t.gemm_16bit = gemm_16bit;
  return t;
}
}  // namespace

const Backend& backend() {
  static const Backend table = make_table();
  return table;
}

}  // namespace iapt::kernels::cuda
