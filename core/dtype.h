#pragma once
// Element types and devices a tensor can have.
#include <cstddef>
#include <cstdint>
#include <string>

namespace iapt {

// F32 and F64 are the arithmetic types; I64 holds indices (token ids, targets, masks).
enum class DType : uint8_t { F32, F64, I64 };
enum class Device : uint8_t { CPU, CUDA };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
const char* device_name(Device d);
bool is_floating(DType t);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };

// Calls f with a value of the C++ type matching a floating dtype (float{} or double{}).
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f);

// Calls f with a value of the C++ type of any dtype (float{}, double{} or int64_t{}).
template <class F>
decltype(auto) dispatch_any(DType t, F&& f) {
  switch (t) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::I64: break;
  }
  return f(int64_t{});
}

}  // namespace iapt

#include "core/error.h"

namespace iapt {
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    default: throw Error(std::string(op) + ": expected a floating tensor (f32 or f64), got " + dtype_name(t));
  }
}
}  // namespace iapt
