// Adam and AdamW in one pass over each parameter, in place:
//   g' = g + wd p (Adam);  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
//   p -= lr (m / c1 / (sqrt(v / c2) + eps) + wd p (AdamW))
// the same arithmetic, in the same order, as the composed update it replaces.
#include <cmath>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

void adam_step(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled, double c1, double c2) {
  IAPT_CHECK(p.is_contiguous() && g.is_contiguous() && m.is_contiguous() && v.is_contiguous() && p.numel() == g.numel(),
             "adam step: parameter, gradient and moments must be dense and of one size");
  dispatch_floating(p.dtype(), "adam step", [&](auto zero) {
    using T = decltype(zero);
    T* pp = p.data<T>();
    T* mp = m.data<T>();
    T* vp = v.data<T>();
    const T* gp = g.data<T>();
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), one_b1 = static_cast<T>(1.0 - beta1),
            one_b2 = static_cast<T>(1.0 - beta2), inv_c1 = static_cast<T>(1.0 / c1), inv_c2 = static_cast<T>(1.0 / c2),
            e = static_cast<T>(eps), wd = static_cast<T>(weight_decay), rate = static_cast<T>(lr);
    const bool l2 = !decoupled && weight_decay != 0.0, decay = decoupled && weight_decay != 0.0;
    parallel_ranges(p.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const T gi = l2 ? gp[i] + pp[i] * wd : gp[i];
        mp[i] = mp[i] * b1 + gi * one_b1;
        vp[i] = vp[i] * b2 + gi * gi * one_b2;
        T update = (mp[i] * inv_c1) / (std::sqrt(vp[i] * inv_c2) + e);
        if (decay) update += pp[i] * wd;
        pp[i] -= update * rate;
      }
    });
  });
}

}  // namespace iapt::kernels::cpu
