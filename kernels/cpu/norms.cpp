// Fused RMSNorm and LayerNorm over the last axis: one pass forward (saving the per-row
// statistics) and one pass backward.
//   RMSNorm:   y = x * r * w,             r = 1/sqrt(mean(x^2) + eps),  xh = x * r
//              gx = r * (g*w - xh * mean(g*w*xh)),  gw = sum_rows g * xh
//   LayerNorm: y = (x - mu) * r * w + b,  r = 1/sqrt(var(x) + eps),     xh = (x - mu) * r
//              gx = r * (g*w - mean(g*w) - xh * mean(g*w*xh)),  gw = sum_rows g * xh,  gb = sum_rows g
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

void rms_norm(const Tensor& x_in, const Tensor& w_in, double eps, const Tensor& out, const Tensor& rstd) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const int64_t d = x.size(-1), rows = x.numel() / std::max<int64_t>(d, 1);
  dispatch_floating(x.dtype(), "rms_norm", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    const T* wp = w.data<T>();
    T* yp = out.data<T>();
    T* rp = rstd.data<T>();
    parallel_ranges(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(d, 1)), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* row = xp + r * d;
        double ss = 0;
        for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(row[j]) * row[j];
        T inv = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
        rp[r] = inv;
        for (int64_t j = 0; j < d; ++j) yp[r * d + j] = row[j] * inv * wp[j];
      }
    });
  });
}

void rms_norm_backward(const Tensor& x_in, const Tensor& w_in, const Tensor& rstd_in, const Tensor& g_in,
                       const Tensor& grad_x, const Tensor& grad_weight) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous(), rstd = rstd_in.contiguous(), g = g_in.contiguous();
  const int64_t d = x.size(-1), rows = x.numel() / std::max<int64_t>(d, 1);
  dispatch_floating(x.dtype(), "rms_norm backward", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    const T* wp = w.data<T>();
    const T* rp = rstd.data<T>();
    const T* gp = g.data<T>();
    T* gx = grad_x.data<T>();
    // The weight gradient sums over rows in a fixed number of chunks, added in order: the same
    // result on any number of threads.
    const int64_t chunks = std::min<int64_t>(rows, kReductionChunks);
    std::vector<double> gw(grad_weight.defined() ? static_cast<size_t>(chunks * d) : 0, 0.0);
    parallel_ranges(chunks, 1, [&](int64_t first_chunk, int64_t last_chunk) {
      for (int64_t ch = first_chunk; ch < last_chunk; ++ch)
        for (int64_t r = rows * ch / chunks; r < rows * (ch + 1) / chunks; ++r) {
          const T* xr = xp + r * d;
          const T* gr = gp + r * d;
          const T inv = rp[r];
          double dot = 0;
          for (int64_t j = 0; j < d; ++j) dot += static_cast<double>(gr[j]) * wp[j] * xr[j] * inv;
          const T mean_dot = static_cast<T>(dot / static_cast<double>(d));
          double* gwc = gw.empty() ? nullptr : gw.data() + ch * d;
          for (int64_t j = 0; j < d; ++j) {
            const T xh = xr[j] * inv;
            gx[r * d + j] = inv * (gr[j] * wp[j] - xh * mean_dot);
            if (gwc) gwc[j] += static_cast<double>(gr[j]) * xh;
          }
        }
    });
    if (grad_weight.defined()) {
      T* gwp = grad_weight.data<T>();
      for (int64_t j = 0; j < d; ++j) {
        double total = 0;
        for (int64_t ch = 0; ch < chunks; ++ch) total += gw[ch * d + j];
        gwp[j] = static_cast<T>(total);
      }
    }
  });
}

void layer_norm(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, double eps, const Tensor& out,
                const Tensor& mean, const Tensor& rstd) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous(), b = b_in.contiguous();
  const int64_t d = x.size(-1), rows = x.numel() / std::max<int64_t>(d, 1);
  dispatch_floating(x.dtype(), "layer_norm", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    const T* wp = w.data<T>();
    const T* bp = b.data<T>();
    T* yp = out.data<T>();
    T* mp = mean.data<T>();
    T* rp = rstd.data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = xp + r * d;
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += row[j];
      const double mu = s / static_cast<double>(d);
      double var = 0;
      for (int64_t j = 0; j < d; ++j) var += (row[j] - mu) * (row[j] - mu);
      const T inv = static_cast<T>(1.0 / std::sqrt(var / static_cast<double>(d) + eps));
      mp[r] = static_cast<T>(mu);
      rp[r] = inv;
      for (int64_t j = 0; j < d; ++j) yp[r * d + j] = (row[j] - static_cast<T>(mu)) * inv * wp[j] + bp[j];
    }
  });
}

void layer_norm_backward(const Tensor& x_in, const Tensor& w_in, const Tensor& mean_in, const Tensor& rstd_in,
                         const Tensor& g_in, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias) {
  Tensor x = x_in.contiguous(), w = w_in.contiguous(), mean = mean_in.contiguous(), rstd = rstd_in.contiguous(),
         g = g_in.contiguous();
  const int64_t d = x.size(-1), rows = x.numel() / std::max<int64_t>(d, 1);
  const bool want_w = grad_weight.defined();
  dispatch_floating(x.dtype(), "layer_norm backward", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    const T* wp = w.data<T>();
    const T* mp = mean.data<T>();
    const T* rp = rstd.data<T>();
    const T* gp = g.data<T>();
    T* gx = grad_x.data<T>();
    std::vector<double> gw(want_w ? d : 0, 0.0), gb(want_w ? d : 0, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = xp + r * d;
      const T* gr = gp + r * d;
      const T mu = mp[r], inv = rp[r];
      double sum_gw = 0, sum_gw_xh = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double gwj = static_cast<double>(gr[j]) * wp[j];
        sum_gw += gwj;
        sum_gw_xh += gwj * (xr[j] - mu) * inv;
      }
      const T a = static_cast<T>(sum_gw / static_cast<double>(d));
      const T c = static_cast<T>(sum_gw_xh / static_cast<double>(d));
      for (int64_t j = 0; j < d; ++j) {
        const T xh = (xr[j] - mu) * inv;
        gx[r * d + j] = inv * (gr[j] * wp[j] - a - xh * c);
        if (want_w) {
          gw[j] += static_cast<double>(gr[j]) * xh;
          gb[j] += gr[j];
        }
      }
    }
    if (want_w) {
      T* gwp = grad_weight.data<T>();
      T* gbp = grad_bias.data<T>();
      for (int64_t j = 0; j < d; ++j) gwp[j] = static_cast<T>(gw[j]), gbp[j] = static_cast<T>(gb[j]);
    }
  });
}

}  // namespace iapt::kernels::cpu
