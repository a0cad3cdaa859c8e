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

// Families of kernels that may take 16-bit (bf16, f16) floating tensors as they are, computing in
// f32 and rounding each 16-bit result once: the bits the ops get by widening the inputs to f32
// copies and rounding the f32 kernel's result, which they do for every family a backend does not
// name. Beside 16-bit activations a norm's weight and the rational's coefficients are f32 or of the
// activations' type; the statistics (rstd, mean, the log-sum-exp, the loss) and the parameters'
// gradients are f32.
enum class Native16 : uint32_t {
  Elementwise = 1u << 0,  // binary, unary, unary_backward, and swiglu where the backend fills it
  Where = 1u << 1,
  Reduce = 1u << 2,
  Gemm = 1u << 3,  // gemm with both operands and the output of one 16-bit type
  Softmax = 1u << 4,
  CrossEntropy = 1u << 5,
  Norms = 1u << 6,  // rms_norm, layer_norm and their backward
  Rope = 1u << 7,
  Rational = 1u << 8,
};
inline constexpr uint32_t kEveryNative16 = (1u << 9) - 1;
constexpr uint32_t bits(Native16 f) { return static_cast<uint32_t>(f); }

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
  // The Native16 families whose kernels take bf16, and f16, tensors as they are.
  uint32_t native_bf16 = 0;
  uint32_t native_f16 = 0;

  // The kernels, one entry per line of core/backend_kernels.inc.
#define IAPT_KERNEL(name, parameters) void(*name) parameters = nullptr;
#define IAPT_FUSED_KERNEL(name, parameters) void(*name) parameters = nullptr;
#include "core/backend_kernels.inc"
#undef IAPT_KERNEL
#undef IAPT_FUSED_KERNEL
};

// Whether the backend's kernels of `family` take tensors of dtype t (16-bit) as they are.
inline bool takes_16bit(const Backend& b, DType t, Native16 family) {
  const uint32_t mask = t == DType::BF16 ? b.native_bf16 : t == DType::F16 ? b.native_f16 : 0;
  return (mask & bits(family)) != 0;
}

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
