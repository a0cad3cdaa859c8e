#include <cstring>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/cpu_allocator.h"
#include "core/error.h"
#include "kernels/backends.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

namespace {

void transfer(const Tensor& src, const Tensor& dst) {
  IAPT_CHECK(src.device() == Device::CPU && dst.device() == Device::CPU, "cpu transfer: {} -> {}",
             device_name(src.device()), device_name(dst.device()));
  std::memcpy(dst.raw_data(), src.raw_data(), static_cast<size_t>(src.numel()) * dtype_size(src.dtype()));
}

void synchronize() {}

int device_count() { return 1; }

Backend make_table() {
  Backend t{};
  t.name = "cpu";
  t.device_count = device_count;
  t.allocate = cpu_allocate;
  t.release = cpu_release;
  t.allocator_stats = cpu_allocator_stats;
  t.reset_allocator_peak = cpu_allocator_reset_peak;
  t.empty_allocator_cache = cpu_allocator_empty_cache;
  t.transfer = transfer;
  t.synchronize = synchronize;
  t.native_bf16 = bits(Native16::Elementwise);  // in chunks (kernels/cpu/bf16_chunks.h)
  // Every kernel in the list, the fused ones included.
#define IAPT_KERNEL(name, parameters) t.name = name;
#define IAPT_FUSED_KERNEL(name, parameters) t.name = name;
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
  return t;
}

}  // namespace

const Backend& backend() {
  static const Backend table = make_table();
  return table;
}

}  // namespace iapt::kernels::cpu

namespace iapt {

int cpu_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace iapt
