// Sum and max over a set of axes. The input is permuted so that kept axes come first and reduced
// axes last, then made dense: each output element reduces one contiguous row.
#include <algorithm>
#include <limits>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

void reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, const Tensor& out) {
  std::vector<int64_t> order;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) order.push_back(d);
  int64_t inner = 1;
  for (int64_t a : axes) {
    order.push_back(a);
    inner *= x.shape()[a];
  }
  Tensor rows = x.permute(order).contiguous();  // [outer..., inner...]
  const int64_t outer = out.numel();
  IAPT_CHECK(out.is_contiguous(), "reduce: output must be contiguous");
  dispatch_floating(x.dtype(), "reduce", [&](auto zero) {
    using T = decltype(zero);
    const T* src = rows.data<T>();
    T* dst = out.data<T>();
    for (int64_t r = 0; r < outer; ++r) {
      const T* row = src + r * inner;
      if (op == ReduceOp::Sum) {
        double acc = 0;  // f32 rows sum in double: cheap here and exact enough for gradchecks
        for (int64_t i = 0; i < inner; ++i) acc += row[i];
        dst[r] = static_cast<T>(acc);
      } else {
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t i = 0; i < inner; ++i) m = (row[i] > m || row[i] != row[i]) ? row[i] : m;  // NaN wins
        dst[r] = m;
      }
    }
  });
}

}  // namespace iapt::kernels::cpu
