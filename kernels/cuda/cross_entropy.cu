// Cross-entropy over a vocabulary: one block per row computes the row's log-sum-exp and its loss
// term; a single block then adds the terms in a fixed order (deterministic) and divides by the
// count of rows whose target is not ignore_index. Backward: (softmax - onehot) * grad / count.
// 16-bit logits are read as stored; the loss and the log-sum-exp are f32.
#include <algorithm>
#include <cfloat>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"
#include "kernels/unary_math.h"

namespace iapt::kernels::cuda {

namespace {

// T: the logits' and their gradient's storage; C = compute_t<T>: the log-sum-exp, the loss and its
// gradient (f32 beside 16-bit logits). Flags a target outside [0, C) in *bad (the host reads it after
// the kernel).
template <class T, class C = compute_t<T>>
__global__ void ce_rows_kernel(const T* x, const int64_t* t, C* lse, double* terms, int64_t rows, int64_t c,
                               int64_t ignore_index, int* bad) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * c;
    double m, s;
    block_row_max_sumexp(row, c, shared, m, s);
    if (threadIdx.x == 0) {
      const C l = static_cast<C>(m) + static_cast<C>(::log(s));
      lse[r] = l;
      const int64_t target = t[r];
      if (target == ignore_index) {
        terms[r] = 0;
      } else if (target < 0 || target >= c) {
        terms[r] = 0;
        atomicExch(bad, 1);
      } else {
        terms[r] = static_cast<double>(l - ld(row[target]));
      }
    }
  }
}

// One block: loss = sum(terms) / count, and scale = grad / count when a gradient is given.
template <class C>
__global__ void ce_total_kernel(const double* terms, const int64_t* t, int64_t rows, int64_t ignore_index, C* loss) {
  __shared__ double shared[33];
  double s = 0, n = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
    s += terms[r];
    n += t[r] != ignore_index ? 1.0 : 0.0;
  }
  s = block_sum(s, shared);
  n = block_sum(n, shared);
  if (threadIdx.x == 0) *loss = n > 0 ? static_cast<C>(s / n) : C(0);
}

template <class C>
__global__ void ce_scale_kernel(const int64_t* t, int64_t rows, int64_t ignore_index, const C* grad_loss, C* scale) {
  __shared__ double shared[33];
  double n = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) n += t[r] != ignore_index ? 1.0 : 0.0;
  n = block_sum(n, shared);
  if (threadIdx.x == 0) *scale = n > 0 ? static_cast<C>(static_cast<double>(*grad_loss) / n) : C(0);
}

template <class T, class C = compute_t<T>>
__global__ void ce_backward_kernel(const T* x, const int64_t* t, const C* lse, const C* scale, T* g, int64_t rows,
                                   int64_t c, int64_t ignore_index) {
  const int64_t n = rows * c;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / c, j = i % c;
    const int64_t target = t[r];
    if (target == ignore_index) {
      g[i] = st<T>(C(0));
      continue;
    }
    const C s = *scale;
    g[i] = st<T>(m_exp(ld(x[i]) - lse[r]) * s - (j == target ? s : C(0)));
  }
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), 65535)); }

}  // namespace

void cross_entropy(const Tensor& logits_in, const Tensor& targets_in, int64_t ignore_index, const Tensor& loss,
                   const Tensor& lse) {
  Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
  const int64_t rows = logits.size(0), c = logits.size(1);
  Tensor terms = empty({std::max<int64_t>(rows, 1)}, DType::F64, Device::CUDA);
  Tensor bad = zeros({1}, DType::I64, Device::CUDA);  // int flag in the first 4 bytes
  dispatch_float_storage(logits.dtype(), "cross_entropy", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    if (rows > 0)
      ce_rows_kernel<T><<<row_grid(rows), 256, 0, stream()>>>(ptr<const T>(logits), targets.data<int64_t>(),
                                                              ptr<C>(lse), terms.data<double>(), rows, c, ignore_index,
                                                              static_cast<int*>(bad.raw_data()));
    IAPT_LAUNCH_CHECK("ce_rows_kernel");
    ce_total_kernel<C>
        <<<1, 256, 0, stream()>>>(terms.data<double>(), targets.data<int64_t>(), rows, ignore_index, ptr<C>(loss));
    IAPT_LAUNCH_CHECK("ce_total_kernel");
  });
  IAPT_CHECK(bad.item() == 0, "cross_entropy: a target is outside [0, {}) (and is not ignore_index {})", c,
             ignore_index);
}

void cross_entropy_backward(const Tensor& logits_in, const Tensor& targets_in, const Tensor& lse, int64_t ignore_index,
                            const Tensor& grad_loss, const Tensor& grad_logits) {
  Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
  // the loss's gradient in the compute type (one value, wherever it was made)
  Tensor gl = grad_loss.to(Device::CUDA).to(is_16bit(logits.dtype()) ? DType::F32 : logits.dtype());
  const int64_t rows = logits.size(0), c = logits.size(1);
  dispatch_float_storage(logits.dtype(), "cross_entropy backward", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    Tensor scale = empty({1}, gl.dtype(), Device::CUDA);
    ce_scale_kernel<C>
        <<<1, 256, 0, stream()>>>(targets.data<int64_t>(), rows, ignore_index, ptr<const C>(gl), ptr<C>(scale));
    IAPT_LAUNCH_CHECK("ce_scale_kernel");
    if (rows * c == 0) return;
    ce_backward_kernel<T><<<blocks_for(rows * c), 256, 0, stream()>>>(ptr<const T>(logits), targets.data<int64_t>(),
                                                                      ptr<const C>(lse), ptr<const C>(scale),
                                                                      ptr<T>(grad_logits), rows, c, ignore_index);
    IAPT_LAUNCH_CHECK("ce_backward_kernel");
  });
}

}  // namespace iapt::kernels::cuda
