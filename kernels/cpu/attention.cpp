// Attention in one kernel per direction, one (batch, key/value head) group at a time: the scores
// of a query head are made by one GEMM into that head's slice of `probs`, scaled, masked and
// normalised in place in one pass, and multiplied by V into the output; nothing else of size
// [T, S] is written. Grouped key/value heads are read where they are, never repeated. The backward
// reads the saved probabilities:
//   dV += P^T dO,  dP = dO V^T,  dS = scale * P * (dP - rowsum(dP * P)),  dQ = dS K,  dK += dS^T Q
// A row whose keys are all masked gets uniform weights, as a softmax over scores all filled with
// the lowest float would.
#include <Eigen/Core>
#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

namespace {

// A [B, heads, rows, D] operand as BLAS sees each (b, h) slice: unit stride along D.
struct Slices {
  const Tensor& t;
  int64_t stride_b, stride_h, ld;
  explicit Slices(const Tensor& x) : t(x), stride_b(x.strides()[0]), stride_h(x.strides()[1]), ld(x.strides()[2]) {
    IAPT_CHECK(x.dim() == 4 && (x.strides()[3] == 1 || x.size(3) == 1) && (x.strides()[2] >= x.size(3) || x.size(2) == 1),
               "attention: operands need unit stride on the head dimension, got strides {}", shape_str(x.strides()));
    if (x.size(2) == 1) ld = std::max<int64_t>(ld, x.size(3));
  }
  template <class T>
  T* at(int64_t b, int64_t h) const {
    return const_cast<T*>(t.data<T>()) + b * stride_b + h * stride_h;
  }
};

// visible[b * S + j]: key j of row b may be attended to (the key mask; all where there is none)
std::vector<uint8_t> visible_keys(const Tensor& key_mask, int64_t b, int64_t s) {
  std::vector<uint8_t> visible(static_cast<size_t>(b * s), 1);
  if (!key_mask.defined()) return visible;
  IAPT_CHECK(key_mask.dim() == 2 && key_mask.size(0) == b && key_mask.size(1) == s,
             "attention: key mask {} must be [{}, {}]", shape_str(key_mask.shape()), b, s);
  Tensor m = key_mask.to(DType::F64).contiguous();
  const double* mp = m.data<double>();
  for (int64_t i = 0; i < b * s; ++i) visible[i] = mp[i] != 0.0;
  return visible;
}

// row <- softmax(scale * row) over the keys query i may see; the others get 0. all_visible: the
// row's batch masks no key (the common case, vectorised throughout).
template <class T>
void masked_softmax_row(T* row, int64_t s, int64_t last_visible, const uint8_t* visible, bool all_visible, T scale) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<Array> r(row, s);
  const int64_t n = last_visible + 1;
  if (all_visible) {
    const T m = r.head(n).maxCoeff();
    r.head(n) = ((r.head(n) - m) * scale).exp();
    r.head(n) *= T(1) / r.head(n).sum();
    r.tail(s - n).setZero();
    return;
  }
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j <= last_visible; ++j)
    if (visible[j]) m = std::max(m, row[j]);
  if (m == -std::numeric_limits<T>::infinity()) {  // nothing visible
    r.setConstant(T(1) / static_cast<T>(s));
    return;
  }
  r.head(n) = ((r.head(n) - m) * scale).exp();
  for (int64_t j = 0; j < n; ++j)
    if (!visible[j]) row[j] = 0;
  r.tail(s - n).setZero();
  r.head(n) *= T(1) / r.head(n).sum();
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal, double scale,
               const Tensor& out, const Tensor& probs) {
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3), hkv = k.size(1), s = k.size(2);
  IAPT_CHECK(h % hkv == 0 && v.size(1) == hkv && v.size(2) == s && probs.is_contiguous(),
             "attention: {} query heads over {} key/value heads", h, hkv);
  const int64_t group = h / hkv;
  const std::vector<uint8_t> visible = visible_keys(key_mask, b, s);
  std::vector<uint8_t> all_visible(static_cast<size_t>(b), 1);
  for (int64_t i = 0; i < b * s; ++i) all_visible[i / s] &= visible[i];
  Slices Q(q), K(k), V(v), O(out);
  dispatch_floating(q.dtype(), "attention", [&](auto zero) {
    using T = decltype(zero);
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < b * h; ++bh) {
      const int64_t bi = bh / h, hi = bh % h, kv = hi / group;
      T* p = probs.data<T>() + bh * t * s;  // [T, S]
      blas_gemm<T>(false, true, t, s, d, T(1), Q.at<T>(bi, hi), Q.ld, K.at<T>(bi, kv), K.ld, T(0), p, s);
      for (int64_t i = 0; i < t; ++i)
        masked_softmax_row<T>(p + i * s, s, causal ? s - t + i : s - 1, visible.data() + bi * s, all_visible[bi],
                              static_cast<T>(scale));
      blas_gemm<T>(false, false, t, d, s, T(1), p, s, V.at<T>(bi, kv), V.ld, T(0), O.at<T>(bi, hi), O.ld);
    }
  });
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                        const Tensor& probs, const Tensor& grad_out, double scale, const Tensor& grad_q,
                        const Tensor& grad_k, const Tensor& grad_v) {
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3), hkv = k.size(1), s = k.size(2);
  const int64_t group = h / hkv;
  IAPT_CHECK(grad_k.is_contiguous() && grad_v.is_contiguous() && probs.is_contiguous(),
             "attention backward: grad_k, grad_v and probs must be dense");
  // Query i of row b sees some key iff the row's first visible key is at or before its last one.
  const std::vector<uint8_t> visible = visible_keys(key_mask, b, s);
  std::vector<int64_t> first_visible(static_cast<size_t>(b), s);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t j = s - 1; j >= 0; --j)
      if (visible[bi * s + j]) first_visible[bi] = j;
  Slices Q(q), K(k), V(v), G(grad_out), GQ(grad_q);
  dispatch_floating(q.dtype(), "attention backward", [&](auto zero) {
    using T = decltype(zero);
    using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
    // one task per (batch, key/value head): its query heads add into the same dK and dV
#pragma omp parallel
    {
      std::vector<T> dp(static_cast<size_t>(t * s));  // [T, S] scratch per thread
#pragma omp for schedule(static)
      for (int64_t bk = 0; bk < b * hkv; ++bk) {
        const int64_t bi = bk / hkv, kv = bk % hkv;
        T* gk = grad_k.data<T>() + bk * s * d;
        T* gv = grad_v.data<T>() + bk * s * d;
        for (int64_t gi = 0; gi < group; ++gi) {
          const int64_t hi = kv * group + gi;
          const T* p = probs.data<T>() + (bi * h + hi) * t * s;
          const T beta = gi == 0 ? T(0) : T(1);
          blas_gemm<T>(true, false, s, d, t, T(1), p, s, G.at<T>(bi, hi), G.ld, beta, gv, d);                 // dV
          blas_gemm<T>(false, true, t, s, d, T(1), G.at<T>(bi, hi), G.ld, V.at<T>(bi, kv), V.ld, T(0), dp.data(), s);  // dP
          for (int64_t i = 0; i < t; ++i) {
            Eigen::Map<const Array> pr(p + i * s, s);
            Eigen::Map<Array> dr(dp.data() + i * s, s);
            if (first_visible[bi] > (causal ? s - t + i : s - 1)) {  // uniform weights: constant in the scores
              dr.setZero();
              continue;
            }
            const T dot = (pr * dr).sum();
            dr = static_cast<T>(scale) * pr * (dr - dot);  // dS; 0 wherever a key is masked (P = 0)
          }
          blas_gemm<T>(false, false, t, d, s, T(1), dp.data(), s, K.at<T>(bi, kv), K.ld, T(0), GQ.at<T>(bi, hi), GQ.ld);  // dQ
          blas_gemm<T>(true, false, s, d, t, T(1), dp.data(), s, Q.at<T>(bi, hi), Q.ld, beta, gk, d);         // dK
        }
      }
    }
  });
}

}  // namespace iapt::kernels::cpu
