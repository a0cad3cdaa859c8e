#pragma once
// Work split over the OpenMP threads in contiguous ranges. Below a few grains of work the loop
// stays on the calling thread: waking threads costs more than small loops save.
#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace iapt::kernels::cpu {

// Elements of a cheap elementwise op worth a thread of their own.
inline constexpr int64_t kElementwiseGrain = 32768;

// Reductions over rows (weight gradients) sum this many fixed chunks in order, whatever the
// number of threads, so that their results do not depend on it.
inline constexpr int64_t kReductionChunks = 16;

// Ranges start at multiples of this many items, so that vectorised code (Eigen's packets, then a
// scalar tail) treats every element the same way whatever the number of threads: results do not
// depend on it.
inline constexpr int64_t kRangeQuantum = 64;

// f(begin, end) over [0, n) in one range per thread, each range at least `grain` long.
template <class F>
void parallel_ranges(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
#ifdef _OPENMP
  const int64_t threads = std::min<int64_t>(omp_get_max_threads(), n / std::max<int64_t>(grain, 1));
  if (threads > 1 && !omp_in_parallel()) {
    auto boundary = [&](int64_t id, int64_t count) {
      return id == count ? n : n * id / count / kRangeQuantum * kRangeQuantum;
    };
#pragma omp parallel num_threads(static_cast<int>(threads))
    {
      const int64_t id = omp_get_thread_num(), count = omp_get_num_threads();
      const int64_t begin = boundary(id, count), end = boundary(id + 1, count);
      if (begin < end) f(begin, end);
    }
    return;
  }
#endif
  f(0, n);
}

}  // namespace iapt::kernels::cpu
