#pragma once
// Declarations of the CPU kernels that fill the CPU backend table (cpu_backend.cpp): every kernel
// of core/backend_kernels.inc, the fused ones included.
#include "core/backend.h"

namespace iapt::kernels::cpu {

#define IAPT_KERNEL(name, parameters) void name parameters;
#define IAPT_FUSED_KERNEL(name, parameters) void name parameters;
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL

}  // namespace iapt::kernels::cpu
