// The rational activation on the CPU (formulas in kernels/rational_math.h). The coefficient
// gradients are sums over every element, accumulated in double in element order.
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/rational_math.h"

namespace iapt::kernels::cpu {

void rational(const Tensor& x_in, const Tensor& num_in, const Tensor& den_in, RationalVersion version,
              const Tensor& out) {
  Tensor x = x_in.contiguous(), num = num_in.contiguous(), den = den_in.contiguous();
  const int m1 = static_cast<int>(num.numel()), n = static_cast<int>(den.numel());
  dispatch_floating(x.dtype(), "rational", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    const T* a = num.data<T>();
    const T* b = den.data<T>();
    T* y = out.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const RationalPoint r = rational_point(static_cast<double>(xp[i]), a, m1, b, n, version);
      y[i] = static_cast<T>(r.p / r.q);
    }
  });
}

void rational_backward(const Tensor& x_in, const Tensor& num_in, const Tensor& den_in, RationalVersion version,
                       const Tensor& g_in, const Tensor& grad_x, const Tensor& grad_num, const Tensor& grad_den) {
  Tensor x = x_in.contiguous(), num = num_in.contiguous(), den = den_in.contiguous(), g = g_in.contiguous();
  const int m1 = static_cast<int>(num.numel()), n = static_cast<int>(den.numel());
  dispatch_floating(x.dtype(), "rational backward", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    const T* a = num.data<T>();
    const T* b = den.data<T>();
    const T* gp = g.data<T>();
    T* gx = grad_x.defined() ? grad_x.data<T>() : nullptr;
    std::vector<double> ga(grad_num.defined() ? m1 : 0, 0.0), gb(grad_den.defined() ? n : 0, 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double xi = static_cast<double>(xp[i]), gy = static_cast<double>(gp[i]);
      const RationalPoint r = rational_point(xi, a, m1, b, n, version);
      const double inv_q = 1.0 / r.q;
      if (gx) gx[i] = static_cast<T>(gy * (r.dp * r.q - r.p * r.dq) * inv_q * inv_q);
      double xj = 1;
      for (size_t j = 0; j < ga.size(); ++j, xj *= xi) ga[j] += gy * xj * inv_q;
      const double dr_dq = -r.p * inv_q * inv_q;
      for (size_t k = 0; k < gb.size(); ++k)
        gb[k] += gy * dr_dq * rational_dq_db(xi, static_cast<int>(k), b, r, version);
    }
    if (grad_num.defined())
      for (int j = 0; j < m1; ++j) grad_num.data<T>()[j] = static_cast<T>(ga[j]);
    if (grad_den.defined())
      for (int k = 0; k < n; ++k) grad_den.data<T>()[k] = static_cast<T>(gb[k]);
  });
}

}  // namespace iapt::kernels::cpu
