// Sum and max of each row of a dense [outer, inner] tensor (core/ops.cpp arranges any reduction
// that way): one block per row, accumulating in double, in every floating dtype.
#include <algorithm>
#include <cfloat>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"

namespace iapt::kernels::cuda {

namespace {

template <class T, bool kMax>
__global__ void reduce_rows_kernel(const T* src, T* dst, int64_t rows, int64_t inner) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = src + r * inner;
    double acc = kMax ? -HUGE_VAL : 0.0;
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
      const double v = static_cast<double>(ld(row[i]));
      acc = kMax ? nan_max(acc, v) : acc + v;
    }
    acc = kMax ? block_max(acc, shared, -HUGE_VAL) : block_sum(acc, shared);
    if (threadIdx.x == 0) dst[r] = st<T>(acc);  // through f32, as the f32 result rounded
  }
}

template <class T>
void reduce_t(ReduceOp op, const T* src, T* dst, int64_t rows, int64_t inner) {
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), 65535));
  if (op == ReduceOp::Sum)
    reduce_rows_kernel<T, false><<<grid, 256, 0, stream()>>>(src, dst, rows, inner);
  else
    reduce_rows_kernel<T, true><<<grid, 256, 0, stream()>>>(src, dst, rows, inner);
  IAPT_LAUNCH_CHECK("reduce_rows_kernel");
}

}  // namespace

void reduce(ReduceOp op, const Tensor& rows, const Tensor& out) {
  const int64_t inner = rows.size(1);
  IAPT_CHECK(out.is_contiguous(), "cuda reduce: output must be contiguous");
  const int64_t outer = out.numel();
  if (outer == 0) return;
  dispatch_float_storage(rows.dtype(), "reduce", [&](auto zero) {
    using T = decltype(zero);
    reduce_t<T>(op, ptr<const T>(rows), ptr<T>(out), outer, inner);
  });
}

}  // namespace iapt::kernels::cuda
