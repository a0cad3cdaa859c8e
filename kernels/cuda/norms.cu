// Fused RMSNorm and LayerNorm over the last axis (formulas in kernels/cpu/norms.cpp): one block per
// row forward and backward; the weight and bias gradients are column sums over rows, one thread
// per column walking the rows in order, so they are deterministic.
#include <algorithm>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"

namespace iapt::kernels::cuda {

namespace {

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), 65535)); }

template <class T>
__global__ void rms_forward(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t d, double eps) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    double ss = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) ss += static_cast<double>(xr[j]) * xr[j];
    ss = block_sum(ss, shared);
    const T inv = static_cast<T>(1.0 / sqrt(ss / static_cast<double>(d) + eps));
    if (threadIdx.x == 0) rstd[r] = inv;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) y[r * d + j] = xr[j] * inv * w[j];
  }
}

template <class T>
__global__ void rms_backward_x(const T* x, const T* w, const T* rstd, const T* g, T* gx, int64_t rows, int64_t d) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    const T* gr = g + r * d;
    const T inv = rstd[r];
    double dot = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dot += static_cast<double>(gr[j]) * w[j] * xr[j] * inv;
    const T mean_dot = static_cast<T>(block_sum(dot, shared) / static_cast<double>(d));
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) gx[r * d + j] = inv * (gr[j] * w[j] - xr[j] * inv * mean_dot);
  }
}

// gw[j] = sum_r g[r, j] * xhat[r, j]; for LayerNorm also gb[j] = sum_r g[r, j] (mean != null)
template <class T>
__global__ void norm_weight_grads(const T* x, const T* mean, const T* rstd, const T* g, T* gw, T* gb, int64_t rows,
                                  int64_t d) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < d;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double sw = 0, sb = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T xh = (x[r * d + j] - (mean ? mean[r] : T(0))) * rstd[r];
      sw += static_cast<double>(g[r * d + j]) * xh;
      sb += g[r * d + j];
    }
    gw[j] = static_cast<T>(sw);
    if (gb) gb[j] = static_cast<T>(sb);
  }
}

template <class T>
__global__ void ln_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t d,
                           double eps) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    double s = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += xr[j];
    const double mu = block_sum(s, shared) / static_cast<double>(d);
    double var = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) var += (xr[j] - mu) * (xr[j] - mu);
    var = block_sum(var, shared);
    const T inv = static_cast<T>(1.0 / sqrt(var / static_cast<double>(d) + eps));
    if (threadIdx.x == 0) mean[r] = static_cast<T>(mu), rstd[r] = inv;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      y[r * d + j] = (xr[j] - static_cast<T>(mu)) * inv * w[j] + b[j];
  }
}

template <class T>
__global__ void ln_backward_x(const T* x, const T* w, const T* mean, const T* rstd, const T* g, T* gx, int64_t rows,
                              int64_t d) {
  __shared__ double shared[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * d;
    const T* gr = g + r * d;
    const T mu = mean[r], inv = rstd[r];
    double sum_gw = 0, sum_gw_xh = 0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const double gwj = static_cast<double>(gr[j]) * w[j];
      sum_gw += gwj;
      sum_gw_xh += gwj * (xr[j] - mu) * inv;
    }
    const T a = static_cast<T>(block_sum(sum_gw, shared) / static_cast<double>(d));
    const T c = static_cast<T>(block_sum(sum_gw_xh, shared) / static_cast<double>(d));
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      gx[r * d + j] = inv * (gr[j] * w[j] - a - (xr[j] - mu) * inv * c);
  }
}

int64_t rows_of(const Tensor& x) { return x.numel() / std::max<int64_t>(x.size(-1), 1); }

}  // namespace

void rms_norm(const Tensor& x_in, const Tensor& w_in, double eps, const Tensor& out, const Tensor& rstd) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const int64_t d = x.size(-1), rows = rows_of(x);
  if (rows * d == 0) return;
  if (x.dtype() == DType::F32)
    rms_forward<float><<<row_grid(rows), 256, 0, stream()>>>(x.data<float>(), w.data<float>(), out.data<float>(),
                                                             rstd.data<float>(), rows, d, eps);
  else
    rms_forward<double><<<row_grid(rows), 256, 0, stream()>>>(x.data<double>(), w.data<double>(), out.data<double>(),
                                                              rstd.data<double>(), rows, d, eps);
  IAPT_LAUNCH_CHECK("rms_forward");
}

template <class T>
static void rms_backward_t(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& g, const Tensor& gx,
                           const Tensor& gw) {
  const int64_t d = x.size(-1), rows = rows_of(x);
  rms_backward_x<T><<<row_grid(rows), 256, 0, stream()>>>(x.data<T>(), w.data<T>(), rstd.data<T>(), g.data<T>(),
                                                          gx.data<T>(), rows, d);
  IAPT_LAUNCH_CHECK("rms_backward_x");
  if (!gw.defined()) return;
  norm_weight_grads<T><<<blocks_for(d), 256, 0, stream()>>>(x.data<T>(), nullptr, rstd.data<T>(), g.data<T>(),
                                                            gw.data<T>(), nullptr, rows, d);
  IAPT_LAUNCH_CHECK("norm_weight_grads");
}

void rms_norm_backward(const Tensor& x_in, const Tensor& w_in, const Tensor& rstd_in, const Tensor& g_in,
                       const Tensor& grad_x, const Tensor& grad_weight) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous(), rstd = rstd_in.contiguous(), g = g_in.contiguous();
  if (x.numel() == 0) {  // no rows: the weight gradient is a sum over nothing
    if (grad_weight.defined()) fill(grad_weight, 0.0);
    return;
  }
  if (x.dtype() == DType::F32) return rms_backward_t<float>(x, w, rstd, g, grad_x, grad_weight);
  rms_backward_t<double>(x, w, rstd, g, grad_x, grad_weight);
}

void layer_norm(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, double eps, const Tensor& out,
                const Tensor& mean, const Tensor& rstd) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous(), b = b_in.contiguous();
  const int64_t d = x.size(-1), rows = rows_of(x);
  if (rows * d == 0) return;
  if (x.dtype() == DType::F32)
    ln_forward<float><<<row_grid(rows), 256, 0, stream()>>>(x.data<float>(), w.data<float>(), b.data<float>(),
                                                            out.data<float>(), mean.data<float>(), rstd.data<float>(),
                                                            rows, d, eps);
  else
    ln_forward<double><<<row_grid(rows), 256, 0, stream()>>>(x.data<double>(), w.data<double>(), b.data<double>(),
                                                             out.data<double>(), mean.data<double>(),
                                                             rstd.data<double>(), rows, d, eps);
  IAPT_LAUNCH_CHECK("ln_forward");
}

template <class T>
static void ln_backward_t(const Tensor& x, const Tensor& w, const Tensor& mean, const Tensor& rstd, const Tensor& g,
                          const Tensor& gx, const Tensor& gw, const Tensor& gb) {
  const int64_t d = x.size(-1), rows = rows_of(x);
  ln_backward_x<T><<<row_grid(rows), 256, 0, stream()>>>(x.data<T>(), w.data<T>(), mean.data<T>(), rstd.data<T>(),
                                                         g.data<T>(), gx.data<T>(), rows, d);
  IAPT_LAUNCH_CHECK("ln_backward_x");
  if (!gw.defined()) return;
  norm_weight_grads<T><<<blocks_for(d), 256, 0, stream()>>>(x.data<T>(), mean.data<T>(), rstd.data<T>(), g.data<T>(),
                                                            gw.data<T>(), gb.data<T>(), rows, d);
  IAPT_LAUNCH_CHECK("norm_weight_grads");
}

void layer_norm_backward(const Tensor& x_in, const Tensor& w_in, const Tensor& mean_in, const Tensor& rstd_in,
                         const Tensor& g_in, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous(), mean = mean_in.contiguous(), rstd = rstd_in.contiguous(),
         g = g_in.contiguous();
  if (x.numel() == 0) {
    if (grad_weight.defined()) fill(grad_weight, 0.0), fill(grad_bias, 0.0);
    return;
  }
  if (x.dtype() == DType::F32) return ln_backward_t<float>(x, w, mean, rstd, g, grad_x, grad_weight, grad_bias);
  ln_backward_t<double>(x, w, mean, rstd, g, grad_x, grad_weight, grad_bias);
}

}  // namespace iapt::kernels::cuda
