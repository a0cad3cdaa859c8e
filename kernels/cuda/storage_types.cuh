#pragma once
// Every dtype's element type on the device, for the kernels that move values between dtypes (copy,
// fill). BF16 and F16 are cuda_bf16.h's and cuda_fp16.h's types: the same two bytes as core's
// BFloat16 and Float16.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>
#include <utility>

#include "core/dtype.h"

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

}  // namespace iapt::kernels::cuda
