#pragma once
// One row-major BLAS GEMM for f32 or f64: C = alpha op(A) op(B) + beta C.
#include <cblas.h>
#include <cstdint>
#include <type_traits>

namespace iapt::kernels::cpu {

template <class T>
void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
               const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto opa = trans_a ? CblasTrans : CblasNoTrans, opb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace iapt::kernels::cpu
