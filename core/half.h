#pragma once
// Widening a 16-bit element to f32: exact for every value, so core needs no rounding of its own
// (narrowing is the copy kernel's, which rounds to nearest even).
#include "core/dtype.h"

namespace iapt {

float to_float(BFloat16 v);
float to_float(Float16 v);

}  // namespace iapt
