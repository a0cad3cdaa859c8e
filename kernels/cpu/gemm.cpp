// Batched GEMM through BLAS. Each operand whose last two axes are row- or column-major is passed
// as it is, with the transpose folded into the BLAS call; only other layouts are copied. Batch
// axes may be broadcast (stride 0): the same matrix is then reused, never copied. Products with a
// frozen 16-bit weight (gemm_16bit) widen it a panel at a time into the same BLAS calls.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/gemm_16bit_rows.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/storage_types.h"

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

// An empty product, or one over an empty inner axis (zeros), needs no BLAS call: done here if so.
template <class T>
bool trivial_product(const Tensor& out, int64_t k) {
  if (out.numel() == 0) return true;
  if (k != 0) return false;
  T* c = out.data<T>();
  std::fill(c, c + out.numel(), T(0));
  return true;
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
    if (trivial_product<T>(out, k)) return;
    T* c = out.data<T>();
    const T* ap = A.t.template data<T>();
    const T* bp = B.t.template data<T>();
    const Shape batch(out.shape().begin(), out.shape().begin() + batch_rank);
    for_each_batch_offset(batch, A.t.strides(), B.t.strides(), [&](int64_t bi, int64_t oa, int64_t ob) {
      blas_gemm<T>(A.transposed, B.transposed, m, n, k, T(1), ap + oa, A.ld, bp + ob, B.ld, T(0), c + bi * m * n, n);
    });
  });
}

namespace {

// rows x cols of a dense 16-bit matrix into a dense T buffer (Eigen's vectorised widening).
template <class T, class H>
void widen_rows(const H* src, int64_t count, T* dst) {
  parallel_ranges(count, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(dst + begin, end - begin) =
        Eigen::Map<const Eigen::Array<H, Eigen::Dynamic, 1>>(src + begin, end - begin).template cast<float>().template cast<T>();
  });
}

// Rows of the stored weight in one panel. Few activation rows (generation): about 1 MiB of f32,
// which stays in cache while BLAS streams it once. Many (training): 16 MiB, so that BLAS gets
// products wide enough to run at full speed; the widening is then a small part of the work.
int64_t panel_rows(int64_t cols, int64_t activation_rows) {
  const int64_t elements = int64_t{1} << (activation_rows >= 64 ? 22 : 18);
  return std::max<int64_t>(16, elements / std::max<int64_t>(cols, 1));
}

}  // namespace

// Few rows of f32 activations against W^T take gemm_16bit_few_rows. Otherwise the weight is widened
// a panel of its stored rows at a time and each panel multiplied through BLAS, so no f32 copy of
// the whole weight is ever made. With trans_w the panel's rows are output
// columns (out[:, panel] = op(a) @ panel^T); without, they are inner rows and the panels' products
// add up (out += op(a)[:, panel] @ panel).
void gemm_16bit(const Tensor& a, const Tensor& w_in, bool trans_a, bool trans_w, const Tensor& out) {
  IAPT_CHECK(out.is_contiguous() && out.dim() == 2 && a.dim() == 2 && w_in.dim() == 2,
             "gemm_16bit: expects 2-D operands and a dense output");
  const Tensor w = w_in.contiguous();
  const int64_t rows = w.size(0), cols = w.size(1);
  const int64_t m = out.size(0), n = out.size(1), k = trans_a ? a.size(0) : a.size(1);
  const MatrixOperand A = as_blas_operand(a, trans_a);
  dispatch_floating(out.dtype(), "gemm_16bit", [&](auto zero) {
    using T = decltype(zero);
    if (trivial_product<T>(out, k)) return;
    T* c = out.data<T>();
    const T* ap = A.t.template data<T>();
    if constexpr (std::is_same_v<T, float>) {
      // few rows of x W^T (generation): read the weight once, widening it in registers
      if (trans_w && !A.transposed && m <= kFew16bitRows && few_rows_16bit_supported()) {
        gemm_16bit_few_rows(ap, A.ld, m, w.raw_data(), w.dtype(), rows, cols, c, n);
        return;
      }
    }
    const int64_t step = std::min(rows, panel_rows(cols, m));
    std::vector<T> panel(static_cast<size_t>(step * cols));
    auto multiply = [&](const auto* wp) {  // wp: the weight's Eigen::bfloat16 or Eigen::half elements
      for (int64_t r0 = 0; r0 < rows; r0 += step) {
        const int64_t p = std::min(step, rows - r0);
        widen_rows<T>(wp + r0 * cols, p * cols, panel.data());
        if (trans_w) {
          blas_gemm<T>(A.transposed, true, m, p, k, T(1), ap, A.ld, panel.data(), cols, T(0), c + r0, n);
        } else {
          // op(a)'s columns r0 .. r0 + p: along a row of a stored row-major, down the rows of one stored transposed
          const T* a_cols = ap + (A.transposed ? r0 * A.ld : r0);
          blas_gemm<T>(A.transposed, false, m, n, p, T(1), a_cols, A.ld, panel.data(), cols, T(r0 == 0 ? 0 : 1), c, n);
        }
      }
    };
    IAPT_CHECK(is_16bit(w.dtype()), "gemm_16bit: the weight is {}, not bf16 or f16", dtype_name(w.dtype()));
    if (w.dtype() == DType::BF16)
      multiply(static_cast<const Eigen::bfloat16*>(w.raw_data()));
    else
      multiply(static_cast<const Eigen::half*>(w.raw_data()));
  });
}

}  // namespace iapt::kernels::cpu
