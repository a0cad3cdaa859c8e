// Batched GEMM through cuBLAS. Row-major C = op(A) op(B) is computed as the column-major
// C^T = op(B)^T op(A)^T, so each operand's row-major layout is passed unchanged with its transpose
// flag. Batch axes whose strides fold into one stride (broadcast ones included) run as one strided
// batched call; other batch layouts fall back to one call per matrix. A frozen 16-bit weight
// (gemm_16bit) and 16-bit activations (gemm in bf16 or f16) run on tensor cores: cuBLAS's Ex calls
// over 16-bit operands with f32 accumulation.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"

namespace iapt::kernels::cuda {

namespace {

struct Operand {
  Tensor t;
  bool transposed;  // row-major convention, as on the CPU backend
  int64_t ld;
};

Operand as_operand(const Tensor& x, bool trans) {
  const int64_t r = x.size(-2), c = x.size(-1);
  const int64_t sr = x.strides()[x.dim() - 2], sc = x.strides()[x.dim() - 1];
  if ((sc == 1 || c == 1) && (sr >= std::max<int64_t>(c, 1) || r == 1)) return {x, trans, std::max<int64_t>(sr, c)};
  if ((sr == 1 || r == 1) && (sc >= std::max<int64_t>(r, 1) || c == 1)) return {x, !trans, std::max<int64_t>(sc, r)};
  return {x.contiguous(), trans, std::max<int64_t>(c, 1)};
}

// The single stride that walks the flattened batch axes, if there is one.
bool folded_batch_stride(const Tensor& t, int64_t batch_rank, int64_t* stride) {
  int64_t expect = -1;
  *stride = 0;
  for (int64_t d = batch_rank - 1; d >= 0; --d) {
    const int64_t size = t.shape()[d], st = t.strides()[d];
    if (size == 1) continue;
    if (expect < 0) {
      *stride = st;
      expect = st * size;
      continue;
    }
    if (st != expect) return false;
    expect = st * size;
  }
  // all broadcast (stride 0) folds as stride 0 only when every batch stride is 0
  if (*stride == 0)
    for (int64_t d = 0; d < batch_rank; ++d)
      if (t.shape()[d] != 1 && t.strides()[d] != 0) return false;
  return true;
}

cublasOperation_t op_of(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

void gemm(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& out) {
  IAPT_CHECK(out.is_contiguous(), "cuda gemm: output must be contiguous");
  const int64_t m = out.size(-2), n = out.size(-1);
  const int64_t k = trans_a ? a.size(-2) : a.size(-1);
  if (out.numel() == 0) return;
  if (k == 0) return fill(out, 0.0);
  Operand A = as_operand(a, trans_a), B = as_operand(b, trans_b);
  const int64_t batch_rank = out.dim() - 2;
  const int64_t batches = out.numel() / (m * n);
  int64_t sa = 0, sb = 0;
  const bool strided = folded_batch_stride(A.t, batch_rank, &sa) && folded_batch_stride(B.t, batch_rank, &sb);
  cublasHandle_t h = cublas();
  const DType dt = out.dtype();
  IAPT_CHECK(a.dtype() == dt && b.dtype() == dt && is_floating(dt), "cuda gemm: operands {} and {} into {}",
             dtype_name(a.dtype()), dtype_name(b.dtype()), dtype_name(dt));
  const bool f32 = dt == DType::F32;
  const float one_f = 1.0f, zero_f = 0.0f;
  const double one_d = 1.0, zero_d = 0.0;
  // column-major view: C^T[n, m] = op(B)^T[n, k] op(A)^T[k, m]
  auto call = [&](int64_t off_a, int64_t off_b, int64_t off_c, int64_t count) {
    if (is_16bit(dt)) {  // 16-bit activations: tensor cores, f32 accumulation, each result rounded once
      const cudaDataType t16 = dt == DType::BF16 ? CUDA_R_16BF : CUDA_R_16F;
      const auto* ap = static_cast<const uint16_t*>(A.t.raw_data()) + off_a;
      const auto* bp = static_cast<const uint16_t*>(B.t.raw_data()) + off_b;
      auto* cp = static_cast<uint16_t*>(out.raw_data()) + off_c;
      IAPT_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, op_of(B.transposed), op_of(A.transposed), n, m, k, &one_f, bp,
                                                   t16, B.ld, sb, ap, t16, A.ld, sa, &zero_f, cp, t16, n, m * n, count,
                                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    } else if (f32) {
      const float* ap = A.t.data<float>() + off_a;
      const float* bp = B.t.data<float>() + off_b;
      float* cp = out.data<float>() + off_c;
      IAPT_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op_of(B.transposed), op_of(A.transposed), n, m, k, &one_f, bp,
                                                  B.ld, sb, ap, A.ld, sa, &zero_f, cp, n, m * n, count));
    } else {
      const double* ap = A.t.data<double>() + off_a;
      const double* bp = B.t.data<double>() + off_b;
      double* cp = out.data<double>() + off_c;
      IAPT_CUBLAS_CHECK(cublasDgemmStridedBatched(h, op_of(B.transposed), op_of(A.transposed), n, m, k, &one_d, bp,
                                                  B.ld, sb, ap, A.ld, sa, &zero_d, cp, n, m * n, count));
    }
  };
  if (strided) return call(0, 0, 0, batches);
  const Shape batch(out.shape().begin(), out.shape().begin() + batch_rank);
  for_each_batch_offset(batch, A.t.strides(), B.t.strides(),
                        [&](int64_t bi, int64_t oa, int64_t ob) { call(oa, ob, bi * m * n, 1); });
}

// f32 activations are rounded to the weight's type (as autocast does: cuBLAS takes two 16-bit
// operands or none) and multiplied with f32 accumulation into the f32 result; the CPU keeps them
// f32, so the backends differ by that rounding (2^-9 of each activation in bf16). f64 activations
// widen the weight instead: tensor cores have no f64 path worth the rounding.
void gemm_16bit(const Tensor& a, const Tensor& w_in, bool trans_a, bool trans_w, const Tensor& out) {
  IAPT_CHECK(out.is_contiguous() && out.dim() == 2 && a.dim() == 2 && w_in.dim() == 2,
             "cuda gemm_16bit: expects 2-D operands and a dense output");
  IAPT_CHECK(is_16bit(w_in.dtype()), "cuda gemm_16bit: the weight is {}, not bf16 or f16", dtype_name(w_in.dtype()));
  if (out.dtype() == DType::F64) return gemm(a, w_in.to(DType::F64), trans_a, trans_w, out);
  const int64_t m = out.size(0), n = out.size(1), k = trans_a ? a.size(0) : a.size(1);
  if (out.numel() == 0) return;
  if (k == 0) return fill(out, 0.0);
  const Operand A = as_operand(a.to(w_in.dtype()), trans_a);  // a dense 16-bit copy, row-major
  const Operand W = as_operand(w_in.contiguous(), trans_w);
  const cudaDataType t16 = w_in.dtype() == DType::BF16 ? CUDA_R_16BF : CUDA_R_16F;
  const float one = 1.0f, zero = 0.0f;
  // column-major view, as gemm: C^T[n, m] = op(W)^T[n, k] op(A)^T[k, m]
  IAPT_CUBLAS_CHECK(cublasGemmEx(cublas(), op_of(W.transposed), op_of(A.transposed), static_cast<int>(n),
                                 static_cast<int>(m), static_cast<int>(k), &one, W.t.raw_data(), t16,
                                 static_cast<int>(W.ld), A.t.raw_data(), t16, static_cast<int>(A.ld), &zero,
                                 out.data<float>(), CUDA_R_32F, static_cast<int>(n), CUBLAS_COMPUTE_32F,
                                 CUBLAS_GEMM_DEFAULT));
}

}  // namespace iapt::kernels::cuda
