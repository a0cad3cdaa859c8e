// SwiGLU, the LLaMA MLP's gate, in one pass each way with vectorised exponentials:
//   s = sigmoid(g),  out = g s u
//   d gate = go u s (1 + g (1 - s)),  d up = go g s
#include <Eigen/Core>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) {
  IAPT_CHECK(gate.is_contiguous() && up.is_contiguous() && out.is_contiguous(), "swiglu: operands must be dense");
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
