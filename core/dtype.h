#pragma once
// Element types and devices a tensor can have.
#include <cstddef>
#include <cstdint>
#include <string>

namespace iapt {

// F32 and F64 are the arithmetic types; I64 holds indices (token ids, targets, masks). BF16 and F16
// are storage types: a frozen backbone's weights as checkpoints ship them, half the bytes of F32,
// and, under `compute: bf16`, the activations. Kernels without a 16-bit path refuse them by name;
// the ops (core/ops.h) compute on them in f32, and copies convert to and from every type.
enum class DType : uint8_t { F32, F64, I64, BF16, F16 };
enum class Device : uint8_t { CPU, CUDA };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
const char* device_name(Device d);
bool is_floating(DType t);   // F32, F64, BF16, F16
bool is_16bit(DType t);      // BF16, F16

// One BF16 or F16 element as stored (the bits; bfloat16: f32's top half; float16: IEEE 754
// binary16). Conversions live in the kernels: Eigen's types on the CPU, cuda_bf16.h and
// cuda_fp16.h on the GPU, both rounding to nearest even; core only widens (core/half.h), which is exact.
struct BFloat16 {
  uint16_t bits;
};
struct Float16 {
  uint16_t bits;
};

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BF16; };
template <> struct dtype_of<Float16> { static constexpr DType value = DType::F16; };

// Calls f with a value of the C++ type matching an arithmetic floating dtype (float{} or double{});
// a 16-bit tensor is refused with the op's name.
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f);

// Calls f with a value of the C++ type of an arithmetic dtype (float{}, double{} or int64_t{}); a
// 16-bit tensor is refused with the op's name.
template <class F>
decltype(auto) dispatch_any(DType t, const char* op, F&& f);

// Calls f with a value of any dtype's element type, BF16 and F16 as the backend's own types (Eigen's
// on the CPU, CUDA's on the GPU), for the kernels that move values between dtypes.
template <class BF16Type, class F16Type, class F>
decltype(auto) dispatch_storage_as(DType t, F&& f) {
  switch (t) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::I64: return f(int64_t{});
    case DType::BF16: return f(BF16Type{});
    case DType::F16: break;
  }
  return f(F16Type{});
}

// The dtype of activations computed with weights of this dtype: f32 under 16-bit weights, which are
// stored, not computed in; the weights' own otherwise.
DType activation_dtype(DType weights);

}  // namespace iapt

#include "core/error.h"

namespace iapt {

[[noreturn]] void throw_no_16bit_kernel(DType t, const char* op);

template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::BF16:
    case DType::F16: throw_no_16bit_kernel(t, op);
    case DType::I64: break;
  }
  throw Error(std::string(op) + ": expected a floating tensor (f32 or f64), got " + dtype_name(t));
}

template <class F>
decltype(auto) dispatch_any(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::I64: return f(int64_t{});
    case DType::BF16:
    case DType::F16: break;
  }
  throw_no_16bit_kernel(t, op);
}

}  // namespace iapt
