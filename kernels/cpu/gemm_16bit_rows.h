#pragma once
// A product with a frozen 16-bit weight for a few activation rows (generation: one row per
// sequence and step), where it is bound by reading the weight from memory, not by arithmetic:
// each weight row is read once, widened in registers and multiplied into every activation row.
// The panel path of gemm.cpp instead widens the weight into a buffer that BLAS then reads again.
#include <cstdint>

#include "core/dtype.h"

namespace iapt::kernels::cpu {

// Activation rows up to which gemm_16bit takes this kernel (iapt_bench's "GEMM with a bf16 weight",
// on a 2-core AVX-512 Xeon: [1, 4096] x [4096, 4096]^T at 50 GFLOP/s against the panels' 6.4;
// [16, 4096] x [11008, 4096]^T 70 against 47; level at 32 rows, 72 against 68; at 64 the panels
// lead, 150 against 73).
inline constexpr int64_t kFew16bitRows = 16;

// Whether this CPU runs the kernel (AVX-512 F, BW and VL); elsewhere gemm_16bit keeps its panels.
bool few_rows_16bit_supported();

// c[r, j] = sum_k a[r, k] w[j, k] for r < m <= kFew16bitRows: a f32 rows with stride lda, w a
// dense [n, k] BF16 or F16 matrix, c with row stride ldc. Each c[r, j] is summed in the same order
// whatever m and the thread count, so a row's result does not depend on the rows beside it.
void gemm_16bit_few_rows(const float* a, int64_t lda, int64_t m, const void* w, DType w_dtype, int64_t n,
                         int64_t k, float* c, int64_t ldc);

}  // namespace iapt::kernels::cpu
