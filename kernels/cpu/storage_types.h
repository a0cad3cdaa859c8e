#pragma once
// Every dtype's C++ element type, for the kernels that move values between dtypes (copy, fill).
// BF16 and F16 are Eigen's bfloat16 and half: the same two bytes as core's BFloat16 and Float16,
// converting by rounding to nearest even, with NaN kept NaN.
#include <Eigen/Core>
#include <type_traits>
#include <utility>

#include "core/dtype.h"

namespace iapt::kernels::cpu {

static_assert(sizeof(Eigen::bfloat16) == 2 && sizeof(Eigen::half) == 2);

template <class F>
decltype(auto) dispatch_storage(DType t, F&& f) {
  return dispatch_storage_as<Eigen::bfloat16, Eigen::half>(t, std::forward<F>(f));
}

template <class T>
inline constexpr bool kIs16bit = std::is_same_v<T, Eigen::bfloat16> || std::is_same_v<T, Eigen::half>;

// A 16-bit value converts through f32 in both directions: f64 rounds to f32 first (as PyTorch's
// conversions do), and the CUDA kernels do the same, so both backends give the same bits.
template <class D, class S>
D convert_value(S s) {
  if constexpr (kIs16bit<D> || kIs16bit<S>)
    return static_cast<D>(static_cast<float>(s));
  else
    return static_cast<D>(s);
}

}  // namespace iapt::kernels::cpu
