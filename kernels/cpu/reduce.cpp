// Sum and max of each row of a dense [outer, inner] tensor (core/ops.cpp arranges any reduction
// over axes that way).
#include <limits>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

void reduce(ReduceOp op, const Tensor& rows, const Tensor& out) {
  const int64_t outer = rows.size(0), inner = rows.size(1);
  IAPT_CHECK(out.is_contiguous() && rows.is_contiguous(), "reduce: rows and output must be contiguous");
  dispatch_floating(rows.dtype(), "reduce", [&](auto zero) {
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
