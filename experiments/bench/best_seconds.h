#pragma once
// The benchmarks' timer: the fastest of `reps` calls after one warm-up call, in seconds.
#include <algorithm>
#include <chrono>

namespace iapt::bench {

template <class F>
double best_seconds(F&& f, int reps) {
  f();  // warm-up
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace iapt::bench
