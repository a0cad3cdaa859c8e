// Softmax and log-softmax along one axis of a dense [outer, n, inner] view, and their backward
// (the formulas of kernels/cpu/softmax.cpp), in every floating dtype (16-bit computed in f32). A
// row along the last axis gets one block; along an inner axis, one thread walks each column.
#include <algorithm>
#include <cfloat>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"
#include "kernels/unary_math.h"

namespace iapt::kernels::cuda {

namespace {

template <class T>
__global__ void softmax_last_axis(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  using C = compute_t<T>;
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * n;
    T* dst = y + r * n;
    double m, s;
    block_row_max_sumexp(row, n, shared, m, s);
    const C tm = static_cast<C>(m);
    if (log) {
      const C lse = tm + static_cast<C>(::log(s));
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) dst[j] = st<T>(ld(row[j]) - lse);
    } else {
      const C inv = static_cast<C>(1.0 / s);
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) dst[j] = st<T>(m_exp(ld(row[j]) - tm) * inv);
    }
  }
}

template <class T>
__global__ void softmax_inner_axis(const T* x, T* y, AxisSplit l, bool log) {
  using C = compute_t<T>;
  const int64_t columns = l.outer * l.inner;
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < columns;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t base = (c / l.inner) * l.n * l.inner + c % l.inner;
    double m = -HUGE_VAL;
    for (int64_t j = 0; j < l.n; ++j) m = fmax(m, static_cast<double>(ld(x[base + j * l.inner])));
    double s = 0;
    for (int64_t j = 0; j < l.n; ++j) s += exp(static_cast<double>(ld(x[base + j * l.inner])) - m);
    const C tm = static_cast<C>(m);
    for (int64_t j = 0; j < l.n; ++j) {
      const int64_t at = base + j * l.inner;
      const C v = ld(x[at]);
      y[at] = st<T>(log ? v - (tm + static_cast<C>(::log(s))) : m_exp(v - tm) * static_cast<C>(1.0 / s));
    }
  }
}

template <class T>
__global__ void softmax_backward_last_axis(const T* y, const T* g, T* gi, int64_t rows, int64_t n, bool log) {
  using C = compute_t<T>;
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t base = r * n;
    double dot = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
      dot += log ? static_cast<double>(ld(g[base + j])) : static_cast<double>(ld(g[base + j])) * ld(y[base + j]);
    const C d = static_cast<C>(block_sum(dot, shared));
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const int64_t at = base + j;
      const C yv = ld(y[at]), gv = ld(g[at]);
      gi[at] = st<T>(log ? gv - m_exp(yv) * d : yv * (gv - d));
    }
  }
}

template <class T>
__global__ void softmax_backward_inner_axis(const T* y, const T* g, T* gi, AxisSplit l, bool log) {
  using C = compute_t<T>;
  const int64_t columns = l.outer * l.inner;
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < columns;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t base = (c / l.inner) * l.n * l.inner + c % l.inner;
    double dot = 0;
    for (int64_t j = 0; j < l.n; ++j) {
      const int64_t at = base + j * l.inner;
      dot += log ? static_cast<double>(ld(g[at])) : static_cast<double>(ld(g[at])) * ld(y[at]);
    }
    const C d = static_cast<C>(dot);
    for (int64_t j = 0; j < l.n; ++j) {
      const int64_t at = base + j * l.inner;
      const C yv = ld(y[at]), gv = ld(g[at]);
      gi[at] = st<T>(log ? gv - m_exp(yv) * d : yv * (gv - d));
    }
  }
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), 65535)); }

template <class T>
void softmax_t(const Tensor& x, int64_t axis, bool log, const Tensor& out) {
  AxisSplit l = split_at_axis(x.shape(), axis);
  if (l.inner == 1) {
    softmax_last_axis<T><<<row_grid(l.outer), 256, 0, stream()>>>(ptr<const T>(x), ptr<T>(out), l.outer, l.n, log);
  } else {
    softmax_inner_axis<T><<<blocks_for(l.outer * l.inner), 256, 0, stream()>>>(ptr<const T>(x), ptr<T>(out), l, log);
  }
  IAPT_LAUNCH_CHECK("softmax");
}

template <class T>
void softmax_backward_t(const Tensor& y, const Tensor& g, int64_t axis, bool log, const Tensor& gi) {
  AxisSplit l = split_at_axis(y.shape(), axis);
  if (l.inner == 1) {
    softmax_backward_last_axis<T>
        <<<row_grid(l.outer), 256, 0, stream()>>>(ptr<const T>(y), ptr<const T>(g), ptr<T>(gi), l.outer, l.n, log);
  } else {
    softmax_backward_inner_axis<T>
        <<<blocks_for(l.outer * l.inner), 256, 0, stream()>>>(ptr<const T>(y), ptr<const T>(g), ptr<T>(gi), l, log);
  }
  IAPT_LAUNCH_CHECK("softmax backward");
}

}  // namespace

void softmax(const Tensor& x_in, int64_t axis, bool log, const Tensor& out) {
  IAPT_CHECK(out.is_contiguous(), "cuda softmax: output must be contiguous");
  if (out.numel() == 0) return;
  Tensor x = x_in.contiguous();
  dispatch_float_storage(x.dtype(), "softmax", [&](auto zero) { softmax_t<decltype(zero)>(x, axis, log, out); });
}

void softmax_backward(const Tensor& y_in, const Tensor& g_in, int64_t axis, bool log, const Tensor& grad_in) {
  IAPT_CHECK(grad_in.is_contiguous(), "cuda softmax backward: output must be contiguous");
  if (grad_in.numel() == 0) return;
  Tensor y = y_in.contiguous(), g = g_in.contiguous();
  dispatch_float_storage(y.dtype(), "softmax backward",
                         [&](auto zero) { softmax_backward_t<decltype(zero)>(y, g, axis, log, grad_in); });
}

}  // namespace iapt::kernels::cuda
