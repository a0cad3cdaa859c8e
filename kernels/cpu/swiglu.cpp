// SwiGLU, the LLaMA MLP's gate, in one pass each way with vectorised exponentials:
//   s = sigmoid(g),  out = g s u
//   d gate = go u s (1 + g (1 - s)),  d up = go g s
#include <Eigen/Core>

#include "core/error.h"
#include "kernels/cpu/bf16_chunks.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) {
  IAPT_CHECK(gate.is_contiguous() && up.is_contiguous() && out.is_contiguous(), "swiglu: operands must be dense");
  if (gate.dtype() == DType::BF16) {
    using Array = Eigen::ArrayXf;
    return bf16_chunks<2, 1>({&gate, &up}, {&out}, [](const auto& in, const auto& o, int64_t n) {
      Eigen::Map<const Array> g(in[0], n), u(in[1], n);
      Eigen::Map<Array>(o[0], n) = g * u / (1.0f + (-g).exp());
    });
  }
  dispatch_floating(gate.dtype(), "swiglu", [&](auto zero) {
    using T = decltype(zero);
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    parallel_ranges(out.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      const int64_t n = end - begin;
      Eigen::Map<const Array> g(gate.data<T>() + begin, n), u(up.data<T>() + begin, n);
      Eigen::Map<Array>(out.data<T>() + begin, n) = g * u / (T(1) + (-g).exp());
    });
  });
}

void swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& grad_out, const Tensor& grad_gate,
                     const Tensor& grad_up) {
  IAPT_CHECK(gate.is_contiguous() && up.is_contiguous() && grad_out.is_contiguous() && grad_gate.is_contiguous() &&
                 grad_up.is_contiguous(),
             "swiglu backward: operands must be dense");
  if (gate.dtype() == DType::BF16) {
    using Array = Eigen::ArrayXf;
    return bf16_chunks<3, 2>({&gate, &up, &grad_out}, {&grad_gate, &grad_up}, [](const auto& in, const auto& o, int64_t n) {
      Eigen::Map<const Array> g(in[0], n), u(in[1], n), go(in[2], n);
      const Array s = 1.0f / (1.0f + (-g).exp());
      Eigen::Map<Array>(o[1], n) = go * g * s;
      Eigen::Map<Array>(o[0], n) = go * u * s * (1.0f + g * (1.0f - s));
    });
  }
  dispatch_floating(gate.dtype(), "swiglu backward", [&](auto zero) {
    using T = decltype(zero);
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    parallel_ranges(gate.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      const int64_t n = end - begin;
      Eigen::Map<const Array> g(gate.data<T>() + begin, n), u(up.data<T>() + begin, n), go(grad_out.data<T>() + begin, n);
      const Array s = T(1) / (T(1) + (-g).exp());
      Eigen::Map<Array>(grad_up.data<T>() + begin, n) = go * g * s;
      Eigen::Map<Array>(grad_gate.data<T>() + begin, n) = go * u * s * (T(1) + g * (T(1) - s));
    });
  });
}

}  // namespace iapt::kernels::cpu
