#include <cstring>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/cpu_allocator.h"
#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

namespace {

void transfer(const Tensor& src, const Tensor& dst) {
  IAPT_CHECK(src.device() == Device::CPU && dst.device() == Device::CPU, "cpu transfer: {} -> {}",
             device_name(src.device()), device_name(dst.device()));
  std::memcpy(dst.raw_data(), src.raw_data(), static_cast<size_t>(src.numel()) * dtype_size(src.dtype()));
}

void synchronize() {}

}  // namespace

const Backend& backend() {
  static const Backend table{
      .name = "cpu",
      .allocate = cpu_allocate,
      .release = cpu_release,
      .transfer = transfer,
      .synchronize = synchronize,
      .copy = copy,
      .fill = fill,
      .unary = unary,
      .unary_backward = unary_backward,
      .binary = binary,
      .where = where,
      .reduce = reduce,
      .gemm = gemm,
      .softmax = softmax,
      .softmax_backward = softmax_backward,
      .cross_entropy = cross_entropy,
      .cross_entropy_backward = cross_entropy_backward,
      .embedding = embedding,
      .embedding_backward = embedding_backward,
      .rms_norm = rms_norm,
      .rms_norm_backward = rms_norm_backward,
      .layer_norm = layer_norm,
      .layer_norm_backward = layer_norm_backward,
      .rope = rope,
      .rational = rational,
      .rational_backward = rational_backward,
      .uniform = uniform,
      .normal = normal,
      .adam_step = adam_step,
      .swiglu = swiglu,
      .swiglu_backward = swiglu_backward,
      .attention = attention,
      .attention_backward = attention_backward,
  };
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
