#pragma once
// The backend dispatch table. A backend is its device's memory and a table of kernels, one entry
// per op, listed in core/backend_kernels.inc; adding an op to the CUDA backend means writing one
// kernel and naming it in the table.
#include <cstdint>
#include <vector>

#include "core/allocator_stats.h"
#include "core/tensor.h"

namespace iapt {

enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Tanh, Sigmoid, Relu, GeluErf, GeluTanh, Silu,
  Pow,        // x^param
  AddScalar,  // x + param
  MulScalar,  // x * param
};
enum class BinaryOp { Add, Sub, Mul, Div, Eq, Lt, Gt };
enum class ReduceOp { Sum, Max };
// Denominator safeguards of the rational activation (kernels/rational_math.h has the formulas).
enum class RationalVersion { A, B, C, N };

struct Backend {
  const char* name;
  // How many devices of this kind are visible (the CPU: 1).
  int (*device_count)();

  // Device memory. `rounded` receives the size actually reserved (the allocator's bucket).
  void* (*allocate)(size_t bytes, size_t* rounded);
  void (*release)(void* ptr, size_t rounded);
  AllocatorStats (*allocator_stats)();
  void (*reset_allocator_peak)();   // peak_live_bytes <- live_bytes
  void (*empty_allocator_cache)();  // returns every cached block to the system
  // Copies between the host and this backend's device (either direction, as the tensors' devices
  // say); both contiguous, of one dtype and shape. Returns when dst may be read.
  void (*transfer)(const Tensor& src, const Tensor& dst);
  // Waits for every queued kernel (a no-op on the CPU); benchmarks time with it.
  void (*synchronize)();
  // Whether binary, unary, unary_backward (and swiglu and swiglu_backward, where the backend has
  // them) take bf16 tensors as they are, computing in f32 and rounding each result once; otherwise
  // the ops widen them to f32 first.
  bool bf16_elementwise = false;

  // The kernels, one entry per line of core/backend_kernels.inc.
#define IAPT_KERNEL(name, parameters) void(*name) parameters = nullptr;
#define IAPT_FUSED_KERNEL(name, parameters) void(*name) parameters = nullptr;
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
};

// The kernels' names in the list's order, and whether each is a fused kernel a backend may leave
// null; tests walk it.
struct KernelName {
  const char* name;
  bool fused;
};
const std::vector<KernelName>& backend_kernel_names();

// Backends are registered by the kernels layer (kernels/backends.h: register_backends()), which
// every program calls once at start-up; core knows only the table. Registering a device again
// replaces its table.
void register_backend(Device device, const Backend& table);

// The table for a device; throws if that backend is not compiled in.
const Backend& backend_for(Device device);
// Compiled in and, for CUDA, at least one GPU visible.
bool device_available(Device device);
bool cuda_compiled();
// The allocator of a device's backend, one naming scheme for every device.
AllocatorStats allocator_stats(Device device);
void reset_allocator_peak(Device device);
void empty_allocator_cache(Device device);

}  // namespace iapt
