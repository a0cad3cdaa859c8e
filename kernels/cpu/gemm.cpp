// Batched GEMM through BLAS. Each operand whose last two axes are row- or column-major is passed
// as it is, with the transpose folded into the BLAS call; only other layouts are copied. Batch
// axes may be broadcast (stride 0): the same matrix is then reused, never copied.
#include "core/error.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

namespace {

struct MatrixOperand {
  Tensor t;            // possibly a copy with a BLAS-compatible layout
  bool transposed;     // as passed to BLAS (row-major convention)
  int64_t ld;
};

// Describes op(x) for BLAS: x's last two axes [r, c] with logical transpose `trans`.
MatrixOperand as_blas_operand(const Tensor& x, bool trans) {
  const int64_t r = x.size(-2), c = x.size(-1);
  const int64_t sr = x.strides()[x.dim() - 2], sc = x.strides()[x.dim() - 1];
  if ((sc == 1 || c == 1) && (sr >= std::max<int64_t>(c, 1) || r == 1)) return {x, trans, std::max<int64_t>(sr, c)};
  if ((sr == 1 || r == 1) && (sc >= std::max<int64_t>(r, 1) || c == 1))  // column-major: a transposed row-major
    return {x, !trans, std::max<int64_t>(sc, r)};
  Tensor dense = x.contiguous();
  return {dense, trans, std::max<int64_t>(c, 1)};
}

}  // namespace

void gemm(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& out) {
  IAPT_CHECK(out.is_contiguous(), "gemm: output must be contiguous");
  const int64_t m = out.size(-2), n = out.size(-1);
  const int64_t k = trans_a ? a.size(-2) : a.size(-1);
  MatrixOperand A = as_blas_operand(a, trans_a);
  MatrixOperand B = as_blas_operand(b, trans_b);
  const int64_t batch_rank = out.dim() - 2;
  dispatch_floating(out.dtype(), "gemm", [&](auto zero) {
    using T = decltype(zero);
    T* c = out.data<T>();
    if (out.numel() == 0) return;
    if (k == 0) {
      std::fill(c, c + out.numel(), T(0));
      return;
    }
    const T* ap = A.t.template data<T>();
    const T* bp = B.t.template data<T>();
    const Shape batch(out.shape().begin(), out.shape().begin() + batch_rank);
    for_each_batch_offset(batch, A.t.strides(), B.t.strides(), [&](int64_t bi, int64_t oa, int64_t ob) {
      blas_gemm<T>(A.transposed, B.transposed, m, n, k, T(1), ap + oa, A.ld, bp + ob, B.ld, T(0), c + bi * m * n, n);
    });
  });
}

}  // namespace iapt::kernels::cpu
