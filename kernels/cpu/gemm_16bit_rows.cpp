#include "kernels/cpu/gemm_16bit_rows.h"

#include <immintrin.h>

#include <algorithm>

#include "core/error.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

namespace {

#define IAPT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

// 16 weights from 16-bit storage to f32 lanes. bf16 is the top half of an f32: shift it up.
IAPT_AVX512 inline __m512 widen16(const uint16_t* p, DType t, __mmask16 mask) {
  const __m256i raw = _mm256_maskz_loadu_epi16(mask, p);
  // the zero-masked forms: GCC 12 warns that the plain ones' undefined pass-through may be uninitialised
  if (t == DType::BF16)
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, _mm512_maskz_cvtepu16_epi32(0xFFFF, raw), 16));
  return _mm512_maskz_cvtph_ps(0xFFFF, raw);
}

// The 16 lanes summed pairwise, always in the same tree (_mm512_reduce_add_ps does the same, but
// GCC 12 warns inside it).
IAPT_AVX512 inline float sum_lanes(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  for (int width = 8; width >= 1; width /= 2)
    for (int i = 0; i < width; ++i) lanes[i] += lanes[i + width];
  return lanes[0];
}

// R activation rows against weight rows [j0, j1): the weight row read once, two accumulators per
// activation row (even and odd steps of 16), so that consecutive FMAs do not wait on each other.
template <int R>
IAPT_AVX512 void rows_kernel(const float* a, int64_t lda, const uint16_t* w, DType t, int64_t j0, int64_t j1,
                             int64_t k, float* c, int64_t ldc) {
  const int64_t pairs = k / 32 * 32, full = k / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (k - full)) - 1u);
  for (int64_t j = j0; j < j1; ++j) {
    const uint16_t* wj = w + j * k;
    __m512 even[R], odd[R];
    for (int r = 0; r < R; ++r) even[r] = odd[r] = _mm512_setzero_ps();
    for (int64_t i = 0; i < pairs; i += 32) {
      const __m512 w0 = widen16(wj + i, t, 0xFFFF), w1 = widen16(wj + i + 16, t, 0xFFFF);
      for (int r = 0; r < R; ++r) {
        even[r] = _mm512_fmadd_ps(_mm512_loadu_ps(a + r * lda + i), w0, even[r]);
        odd[r] = _mm512_fmadd_ps(_mm512_loadu_ps(a + r * lda + i + 16), w1, odd[r]);
      }
    }
    if (full > pairs) {
      const __m512 w0 = widen16(wj + pairs, t, 0xFFFF);
      for (int r = 0; r < R; ++r) even[r] = _mm512_fmadd_ps(_mm512_loadu_ps(a + r * lda + pairs), w0, even[r]);
    }
    if (tail) {
      const __m512 w1 = widen16(wj + full, t, tail);
      for (int r = 0; r < R; ++r) odd[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, a + r * lda + full), w1, odd[r]);
    }
    for (int r = 0; r < R; ++r) c[r * ldc + j] = sum_lanes(_mm512_add_ps(even[r], odd[r]));
  }
}

template <int R>
void run_rows(const float* a, int64_t lda, const uint16_t* w, DType t, int64_t n, int64_t k, float* c, int64_t ldc) {
  // rows of the weight split over threads; each output element is one thread's, summed in one order
  parallel_ranges(n, 64, [&](int64_t j0, int64_t j1) { rows_kernel<R>(a, lda, w, t, j0, j1, k, c, ldc); });
}

}  // namespace

bool few_rows_16bit_supported() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }();
  return supported;
}

void gemm_16bit_few_rows(const float* a, int64_t lda, int64_t m, const void* w_raw, DType w_dtype, int64_t n,
                         int64_t k, float* c, int64_t ldc) {
  IAPT_CHECK(m >= 1 && m <= kFew16bitRows && is_16bit(w_dtype) && few_rows_16bit_supported(),
             "gemm_16bit_few_rows: {} rows of a {} weight", m, dtype_name(w_dtype));
  const auto* w = static_cast<const uint16_t*>(w_raw);
  // eight rows at a time (the largest kernel), the weight read once per eight
  for (int64_t r0 = 0; r0 < m; r0 += 8) {
    const float* ar = a + r0 * lda;
    float* cr = c + r0 * ldc;
    switch (std::min<int64_t>(8, m - r0)) {
      case 1: run_rows<1>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
      case 2: run_rows<2>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
      case 3: run_rows<3>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
      case 4: run_rows<4>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
      case 5: run_rows<5>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
      case 6: run_rows<6>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
      case 7: run_rows<7>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
      default: run_rows<8>(ar, lda, w, w_dtype, n, k, cr, ldc); break;
    }
  }
}

}  // namespace iapt::kernels::cpu
