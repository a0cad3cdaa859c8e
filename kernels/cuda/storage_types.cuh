#pragma once
// Every dtype's element type on the device, for the kernels that move values between dtypes (copy,
// fill). BF16 and F16 are cuda_bf16.h's and cuda_fp16.h's types: the same two bytes as core's
// BFloat16 and Float16.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>
#include <utility>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"

namespace iapt::kernels::cuda {

template <class F>
decltype(auto) dispatch_storage(DType t, F&& f) {
  return dispatch_storage_as<__nv_bfloat16, __half>(t, std::forward<F>(f));
}

template <class T>
inline constexpr bool kIs16bit = std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>;

// Through f32 in both directions, rounding to nearest even, as the CPU backend converts
// (kernels/cpu/storage_types.h): both give the same bits for every non-NaN value.
template <class D, class S>
__host__ __device__ D convert_value(S s) {
  if constexpr (kIs16bit<D> || kIs16bit<S>) {
    float f;
    if constexpr (std::is_same_v<S, __nv_bfloat16>)
      f = __bfloat162float(s);
    else if constexpr (std::is_same_v<S, __half>)
      f = __half2float(s);
    else
      f = static_cast<float>(s);
    if constexpr (std::is_same_v<D, __nv_bfloat16>)
      return __float2bfloat16_rn(f);
    else if constexpr (std::is_same_v<D, __half>)
      return __float2half_rn(f);
    else
      return static_cast<D>(f);
  } else {
    return static_cast<D>(s);
  }
}

// The type a kernel computes in for values stored as T: f32 for the 16-bit types, whose results are
// rounded once when stored; T itself otherwise. A kernel reads its T values through ld and writes
// them through st, so its f32 instance is the f32 kernel and its bf16 instance computes as that
// kernel does on a widened copy, rounding where the ops would round that copy's result.
template <class T>
using compute_t = std::conditional_t<kIs16bit<T>, float, T>;

template <class T>
__device__ __forceinline__ compute_t<T> ld(T v) {
  return convert_value<compute_t<T>>(v);
}

template <class T, class C>
__device__ __forceinline__ T st(C v) {
  return convert_value<T>(v);
}

// A tensor's data as T, for element types core's data<T>() does not name (the 16-bit ones).
template <class T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

// Calls f with the element type of a floating dtype: float, double, or the 16-bit types as stored.
template <class F>
void dispatch_float_storage(DType t, const char* op, F&& f) {
  IAPT_CHECK(is_floating(t), "cuda {}: expected a floating tensor, got {}", op, dtype_name(t));
  dispatch_storage(t, [&](auto zero) {
    if constexpr (!std::is_same_v<decltype(zero), int64_t>) f(zero);
  });
}

// A norm's weight or the rational's coefficients (f32 parameters, or of x's own 16-bit type) as the
// compute type's values for x of dtype `x`: the same tensor for f32 and f64 x, an f32 copy of these
// few values beside 16-bit x.
inline Tensor parameter_as_compute(const Tensor& p, DType x) {
  return is_16bit(x) ? p.to(DType::F32).contiguous() : p.contiguous();
}

// Where a kernel writes such a parameter's gradient (of the compute type): the gradient itself, or
// an f32 buffer that the caller copies into a 16-bit parameter's gradient after the kernel.
inline Tensor parameter_grad_buffer(const Tensor& grad, DType x) {
  const DType compute = is_16bit(x) ? DType::F32 : x;
  return grad.defined() && grad.dtype() != compute ? empty(grad.shape(), compute, grad.device()) : grad;
}

}  // namespace iapt::kernels::cuda
