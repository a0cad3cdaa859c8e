// Softmax and log-softmax along one axis of a dense [outer, n, inner] view, and their backward:
//   softmax:      gx = y * (g - sum(g * y))
//   log_softmax:  gx = g - exp(y) * sum(g)
#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

void softmax(const Tensor& x_in, int64_t axis, bool log, const Tensor& out) {
  IAPT_CHECK(out.is_contiguous(), "softmax: output must be contiguous");
  Tensor x = x_in.contiguous();
  AxisSplit l = split_at_axis(x.shape(), axis);
  dispatch_floating(x.dtype(), "softmax", [&](auto zero) {
    using T = decltype(zero);
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    const int64_t rows = l.outer * l.inner;
    parallel_ranges(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(l.n, 1)), [&](int64_t begin, int64_t end) {
      std::vector<T> buf(l.inner == 1 ? 0 : static_cast<size_t>(l.n));
      for (int64_t r = begin; r < end; ++r) {
        const int64_t o = r / l.inner, i = r % l.inner;
        const T* row = xp + o * l.n * l.inner + i;
        T* dst = yp + o * l.n * l.inner + i;
        // a strided row (softmax over a middle axis) is gathered first, to run vectorised
        T* y = l.inner == 1 ? dst : buf.data();
        for (int64_t j = 0; l.inner != 1 && j < l.n; ++j) y[j] = row[j * l.inner];
        Eigen::Map<Array> a(y, l.n);
        if (l.inner == 1) a = Eigen::Map<const Array>(row, l.n);
        const T m = a.maxCoeff();
        if (log) {
          const T lse = m + static_cast<T>(std::log(static_cast<double>((a - m).exp().sum())));
          a -= lse;
        } else {
          a = (a - m).exp();
          a *= T(1) / a.sum();
        }
        for (int64_t j = 0; l.inner != 1 && j < l.n; ++j) dst[j * l.inner] = y[j];
      }
    });
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
    parallel_ranges(l.outer * l.inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(l.n, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t r = begin; r < end; ++r) {
                        const int64_t base = (r / l.inner) * l.n * l.inner + r % l.inner;
                        double dot = 0;
                        for (int64_t j = 0; j < l.n; ++j) {
                          const int64_t at = base + j * l.inner;
                          dot += log ? gp[at] : gp[at] * yp[at];
                        }
                        for (int64_t j = 0; j < l.n; ++j) {
                          const int64_t at = base + j * l.inner;
                          gi[at] = log ? gp[at] - std::exp(yp[at]) * static_cast<T>(dot)
                                       : yp[at] * (gp[at] - static_cast<T>(dot));
                        }
                      }
                    });
  });
}

}  // namespace iapt::kernels::cpu
