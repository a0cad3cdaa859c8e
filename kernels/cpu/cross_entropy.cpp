// Cross-entropy over a vocabulary in one pass per row (log-sum-exp), mean over the rows whose
// target is not ignore_index. Backward: (softmax(x) - onehot(target)) * grad / count.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

namespace {
int64_t counted_rows(const int64_t* t, int64_t n, int64_t ignore_index) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; ++i) c += t[i] != ignore_index;
  return c;
}
}  // namespace

void cross_entropy(const Tensor& logits_in, const Tensor& targets_in, int64_t ignore_index, const Tensor& loss,
                   const Tensor& lse) {
  Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
  const int64_t n = logits.size(0), c = logits.size(1);
  const int64_t* t = targets.data<int64_t>();
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto zero) {
    using T = decltype(zero);
    const T* x = logits.data<T>();
    T* l = lse.data<T>();
    double total = 0;
    for (int64_t r = 0; r < n; ++r) {
      const T* row = x + r * c;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < c; ++j) m = std::max(m, row[j]);
      double s = 0;
      for (int64_t j = 0; j < c; ++j) s += std::exp(static_cast<double>(row[j] - m));
      l[r] = m + static_cast<T>(std::log(s));
      if (t[r] == ignore_index) continue;
      IAPT_CHECK(t[r] >= 0 && t[r] < c, "cross_entropy: target {} at row {} is outside [0, {})", t[r], r, c);
      total += static_cast<double>(l[r] - row[t[r]]);
    }
    int64_t count = counted_rows(t, n, ignore_index);
    // Every target ignored: PyTorch returns NaN (0/0); a zero loss with zero gradient is kinder to training.
    *loss.data<T>() = count > 0 ? static_cast<T>(total / static_cast<double>(count)) : T(0);
  });
}

void cross_entropy_backward(const Tensor& logits_in, const Tensor& targets_in, const Tensor& lse,
                            int64_t ignore_index, const Tensor& grad_loss, const Tensor& grad_logits) {
  Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
  const int64_t n = logits.size(0), c = logits.size(1);
  const int64_t* t = targets.data<int64_t>();
  const int64_t count = counted_rows(t, n, ignore_index);
  dispatch_floating(logits.dtype(), "cross_entropy backward", [&](auto zero) {
    using T = decltype(zero);
    const T* x = logits.data<T>();
    const T* l = lse.data<T>();
    T* g = grad_logits.data<T>();
    const T scale = count > 0 ? static_cast<T>(grad_loss.item() / static_cast<double>(count)) : T(0);
    for (int64_t r = 0; r < n; ++r) {
      T* grow = g + r * c;
      if (t[r] == ignore_index) {
        std::fill(grow, grow + c, T(0));
        continue;
      }
      const T* row = x + r * c;
      for (int64_t j = 0; j < c; ++j) grow[j] = std::exp(row[j] - l[r]) * scale;
      grow[t[r]] -= scale;
    }
  });
}

}  // namespace iapt::kernels::cpu
