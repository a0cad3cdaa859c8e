// Fused RMSNorm and LayerNorm over the last axis (formulas in kernels/cpu/norms.cpp): one block per
// row forward and backward; the weight and bias gradients are column sums over rows, one thread
// per column walking the rows in order, so they are deterministic. 16-bit x computes in f32, its
// statistics kept f32.
#include <algorithm>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"

namespace iapt::kernels::cuda {

namespace {

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), 65535)); }

// T: x's and the outputs' storage; C = compute_t<T>: the weight, the bias, the statistics and the
// weight gradients (f32 beside 16-bit x).
template <class T, class C = compute_t<T>>
__global__ void rms_forward(const T* x, const C* w, T* y, C* rstd, int64_t rows, int64_t d, double eps) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    double ss = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const C v = ld(xr[j]);
      ss += static_cast<double>(v) * v;
    }
    ss = block_sum(ss, shared);
    const C inv = static_cast<C>(1.0 / sqrt(ss / static_cast<double>(d) + eps));
    if (threadIdx.x == 0) rstd[r] = inv;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) y[r * d + j] = st<T>(ld(xr[j]) * inv * w[j]);
  }
}

template <class T, class C = compute_t<T>>
__global__ void rms_backward_x(const T* x, const C* w, const C* rstd, const T* g, T* gx, int64_t rows, int64_t d) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    const T* gr = g + r * d;
    const C inv = rstd[r];
    double dot = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      dot += static_cast<double>(ld(gr[j])) * w[j] * ld(xr[j]) * inv;
    const C mean_dot = static_cast<C>(block_sum(dot, shared) / static_cast<double>(d));
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      gx[r * d + j] = st<T>(inv * (ld(gr[j]) * w[j] - ld(xr[j]) * inv * mean_dot));
  }
}

// gw[j] = sum_r g[r, j] * xhat[r, j]; for LayerNorm also gb[j] = sum_r g[r, j] (mean != null)
template <class T, class C = compute_t<T>>
__global__ void norm_weight_grads(const T* x, const C* mean, const C* rstd, const T* g, C* gw, C* gb, int64_t rows,
                                  int64_t d) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < d;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double sw = 0, sb = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const C xh = (ld(x[r * d + j]) - (mean ? mean[r] : C(0))) * rstd[r];
      const C gv = ld(g[r * d + j]);
      sw += static_cast<double>(gv) * xh;
      sb += gv;
    }
    gw[j] = static_cast<C>(sw);
    if (gb) gb[j] = static_cast<C>(sb);
  }
}

template <class T, class C = compute_t<T>>
__global__ void ln_forward(const T* x, const C* w, const C* b, T* y, C* mean, C* rstd, int64_t rows, int64_t d,
                           double eps) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    double s = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += ld(xr[j]);
    const double mu = block_sum(s, shared) / static_cast<double>(d);
    double var = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) var += (ld(xr[j]) - mu) * (ld(xr[j]) - mu);
    var = block_sum(var, shared);
    const C inv = static_cast<C>(1.0 / sqrt(var / static_cast<double>(d) + eps));
    if (threadIdx.x == 0) mean[r] = static_cast<C>(mu), rstd[r] = inv;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      y[r * d + j] = st<T>((ld(xr[j]) - static_cast<C>(mu)) * inv * w[j] + b[j]);
  }
}

template <class T, class C = compute_t<T>>
__global__ void ln_backward_x(const T* x, const C* w, const C* mean, const C* rstd, const T* g, T* gx, int64_t rows,
                              int64_t d) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    const T* gr = g + r * d;
    const C mu = mean[r], inv = rstd[r];
    double sum_gw = 0, sum_gw_xh = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const double gwj = static_cast<double>(ld(gr[j])) * w[j];
      sum_gw += gwj;
      sum_gw_xh += gwj * (ld(xr[j]) - mu) * inv;
    }
    const C a = static_cast<C>(block_sum(sum_gw, shared) / static_cast<double>(d));
    const C c = static_cast<C>(block_sum(sum_gw_xh, shared) / static_cast<double>(d));
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      gx[r * d + j] = st<T>(inv * (ld(gr[j]) * w[j] - a - (ld(xr[j]) - mu) * inv * c));
  }
}

int64_t rows_of(const Tensor& x) { return x.numel() / std::max<int64_t>(x.size(-1), 1); }

}  // namespace

void rms_norm(const Tensor& x_in, const Tensor& w_in, double eps, const Tensor& out, const Tensor& rstd) {
  Tensor x = x_in.contiguous(), w = parameter_as_compute(w_in, x_in.dtype());
  const int64_t d = x.size(-1), rows = rows_of(x);
  if (rows * d == 0) return;
  dispatch_float_storage(x.dtype(), "rms_norm", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    rms_forward<T><<<row_grid(rows), 256, 0, stream()>>>(ptr<const T>(x), ptr<const C>(w), ptr<T>(out), ptr<C>(rstd),
                                                         rows, d, eps);
  });
  IAPT_LAUNCH_CHECK("rms_forward");
}

void rms_norm_backward(const Tensor& x_in, const Tensor& w_in, const Tensor& rstd_in, const Tensor& g_in,
                       const Tensor& grad_x, const Tensor& grad_weight) {
  Tensor x = x_in.contiguous(), w = parameter_as_compute(w_in, x_in.dtype()), rstd = rstd_in.contiguous(),
         g = g_in.contiguous();
  if (x.numel() == 0) {  // no rows: the weight gradient is a sum over nothing
    if (grad_weight.defined()) fill(grad_weight, 0.0);
    return;
  }
  const int64_t d = x.size(-1), rows = rows_of(x);
  const Tensor gw = parameter_grad_buffer(grad_weight, x.dtype());
  dispatch_float_storage(x.dtype(), "rms_norm backward", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    rms_backward_x<T><<<row_grid(rows), 256, 0, stream()>>>(ptr<const T>(x), ptr<const C>(w), ptr<const C>(rstd),
                                                            ptr<const T>(g), ptr<T>(grad_x), rows, d);
    IAPT_LAUNCH_CHECK("rms_backward_x");
    if (!gw.defined()) return;
    norm_weight_grads<T><<<blocks_for(d), 256, 0, stream()>>>(ptr<const T>(x), static_cast<const C*>(nullptr),
                                                              ptr<const C>(rstd), ptr<const T>(g), ptr<C>(gw),
                                                              static_cast<C*>(nullptr), rows, d);
    IAPT_LAUNCH_CHECK("norm_weight_grads");
  });
  if (gw.defined() && gw.storage() != grad_weight.storage()) copy(gw, grad_weight);
}

void layer_norm(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, double eps, const Tensor& out,
                const Tensor& mean, const Tensor& rstd) {
  Tensor x = x_in.contiguous(), w = parameter_as_compute(w_in, x_in.dtype()),
         b = parameter_as_compute(b_in, x_in.dtype());
  const int64_t d = x.size(-1), rows = rows_of(x);
  if (rows * d == 0) return;
  dispatch_float_storage(x.dtype(), "layer_norm", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    ln_forward<T><<<row_grid(rows), 256, 0, stream()>>>(ptr<const T>(x), ptr<const C>(w), ptr<const C>(b), ptr<T>(out),
                                                        ptr<C>(mean), ptr<C>(rstd), rows, d, eps);
  });
  IAPT_LAUNCH_CHECK("ln_forward");
}

void layer_norm_backward(const Tensor& x_in, const Tensor& w_in, const Tensor& mean_in, const Tensor& rstd_in,
                         const Tensor& g_in, const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) {
  Tensor x = x_in.contiguous(), w = parameter_as_compute(w_in, x_in.dtype()), mean = mean_in.contiguous(),
         rstd = rstd_in.contiguous(), g = g_in.contiguous();
  if (x.numel() == 0) {
    if (grad_weight.defined()) fill(grad_weight, 0.0), fill(grad_bias, 0.0);
    return;
  }
  const int64_t d = x.size(-1), rows = rows_of(x);
  const Tensor gw = parameter_grad_buffer(grad_weight, x.dtype()), gb = parameter_grad_buffer(grad_bias, x.dtype());
  dispatch_float_storage(x.dtype(), "layer_norm backward", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    ln_backward_x<T><<<row_grid(rows), 256, 0, stream()>>>(ptr<const T>(x), ptr<const C>(w), ptr<const C>(mean),
                                                           ptr<const C>(rstd), ptr<const T>(g), ptr<T>(grad_x), rows,
                                                           d);
    IAPT_LAUNCH_CHECK("ln_backward_x");
    if (!gw.defined()) return;
    norm_weight_grads<T><<<blocks_for(d), 256, 0, stream()>>>(ptr<const T>(x), ptr<const C>(mean), ptr<const C>(rstd),
                                                              ptr<const T>(g), ptr<C>(gw), ptr<C>(gb), rows, d);
    IAPT_LAUNCH_CHECK("norm_weight_grads");
  });
  if (gw.defined() && gw.storage() != grad_weight.storage()) copy(gw, grad_weight), copy(gb, grad_bias);
}

}  // namespace iapt::kernels::cuda
