#include "core/dtype.h"

#include <fmt/format.h>

namespace iapt {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I64: return 8;
    case DType::BF16: return 2;
    case DType::F16: return 2;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I64: return "i64";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
  }
  return "?";
}

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

bool is_floating(DType t) { return t != DType::I64; }

bool is_16bit(DType t) { return t == DType::BF16 || t == DType::F16; }

DType activation_dtype(DType weights) { return is_16bit(weights) ? DType::F32 : weights; }

void throw_no_16bit_kernel(DType t, const char* op) {
  throw Error(fmt::format("{}: no {} kernel; convert with .to(DType::F32) first", op, dtype_name(t)));
}

}  // namespace iapt
