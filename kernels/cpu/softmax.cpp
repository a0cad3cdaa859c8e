// Softmax and log-softmax along one axis of a dense [outer, n, inner] view, and their backward:
//   softmax:      gx = y * (g - sum(g * y))
//   log_softmax:  gx = g - exp(y) * sum(g)
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

void softmax(const Tensor& x_in, int64_t axis, bool log, const Tensor& out) {
  IAPT_CHECK(out.is_contiguous(), "softmax: output must be contiguous");
  Tensor x = x_in.contiguous();
  AxisSplit l = split_at_axis(x.shape(), axis);
  dispatch_floating(x.dtype(), "softmax", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const T* row = xp + o * l.n * l.inner + i;
        T* dst = yp + o * l.n * l.inner + i;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < l.n; ++j) m = std::max(m, row[j * l.inner]);
        double total = 0;
        for (int64_t j = 0; j < l.n; ++j) total += std::exp(static_cast<double>(row[j * l.inner] - m));
        if (log) {
          T lse = m + static_cast<T>(std::log(total));
          for (int64_t j = 0; j < l.n; ++j) dst[j * l.inner] = row[j * l.inner] - lse;
        } else {
          T inv = static_cast<T>(1.0 / total);
          for (int64_t j = 0; j < l.n; ++j) dst[j * l.inner] = std::exp(row[j * l.inner] - m) * inv;
        }
      }
  });
}

void softmax_backward(const Tensor& y_in, const Tensor& g_in, int64_t axis, bool log, const Tensor& grad_in) {
  IAPT_CHECK(grad_in.is_contiguous(), "softmax backward: output must be contiguous");
  Tensor y = y_in.contiguous(), g = g_in.contiguous();
  AxisSplit l = split_at_axis(y.shape(), axis);
  dispatch_floating(y.dtype(), "softmax backward", [&](auto zero) {
    using T = decltype(zero);
    const T* yp = y.data<T>();
    const T* gp = g.data<T>();
    T* gi = grad_in.data<T>();
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        int64_t base = o * l.n * l.inner + i;
        double dot = 0;
        for (int64_t j = 0; j < l.n; ++j) {
          int64_t at = base + j * l.inner;
          dot += log ? gp[at] : gp[at] * yp[at];
        }
        for (int64_t j = 0; j < l.n; ++j) {
          int64_t at = base + j * l.inner;
          gi[at] = log ? gp[at] - std::exp(yp[at]) * static_cast<T>(dot) : yp[at] * (gp[at] - static_cast<T>(dot));
        }
      }
  });
}

}  // namespace iapt::kernels::cpu
