// Cross-entropy over a vocabulary in one pass per row (log-sum-exp), mean over the rows whose
// target is not ignore_index. Backward: (softmax(x) - onehot(target)) * grad / count. Rows are
// split over the threads; the exponentials are Eigen's vectorised ones; ignored rows cost nothing.
#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"

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
  for (int64_t r = 0; r < n; ++r)
    IAPT_CHECK(t[r] == ignore_index || (t[r] >= 0 && t[r] < c), "cross_entropy: target {} at row {} is outside [0, {})",
               t[r], r, c);
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto zero) {
    using T = decltype(zero);
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    const T* x = logits.data<T>();
    T* l = lse.data<T>();
    std::vector<double> row_loss(static_cast<size_t>(n), 0.0);
    parallel_ranges(n, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(c, 1)), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        if (t[r] == ignore_index) {
          l[r] = T(0);  // never read: the row has no gradient
          continue;
        }
        Eigen::Map<const Array> row(x + r * c, c);
        const T m = row.maxCoeff();
        l[r] = m + static_cast<T>(std::log(static_cast<double>((row - m).exp().sum())));
        row_loss[r] = static_cast<double>(l[r] - row[t[r]]);
      }
    });
    double total = 0;
    for (double v : row_loss) total += v;  // in row order: the same sum on any thread count
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
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    parallel_ranges(n, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(c, 1)), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        Eigen::Map<Array> grow(g + r * c, c);
        if (t[r] == ignore_index) {
          grow.setZero();
          continue;
        }
        grow = (Eigen::Map<const Array>(x + r * c, c) - l[r]).exp() * scale;
        grow[t[r]] -= scale;
      }
    });
  });
}

}  // namespace iapt::kernels::cpu
