// Rotary position embedding in the rotate-half convention of Hugging Face LLaMA: the pair
// (x[i], x[i + D/2]) rotates by angle pos * theta^(-2i/D). The backward is the inverse rotation.
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

// x and out may be any [B, H, T, D] views (the model's are [B, T, H, D] buffers seen transposed):
// each is read and written through its own strides, so no copy is made on the way.
void rope(const Tensor& x, const Tensor& positions_in, double theta, bool inverse, const Tensor& out) {
  Tensor positions = positions_in.contiguous();
  const int64_t b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3), half = d / 2;
  const int64_t* pos = positions.data<int64_t>();
  const bool per_row = positions.dim() == 2;
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(d));
  const double sign = inverse ? -1.0 : 1.0;
  dispatch_floating(x.dtype(), "rope", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    const Shape &xs = x.strides(), &os = out.strides();
    parallel_ranges(b * t, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(h * d, 1)), [&](int64_t begin, int64_t end) {
      std::vector<T> cs(half), sn(half);
      for (int64_t bt = begin; bt < end; ++bt) {
        const int64_t bi = bt / t, ti = bt % t;
        const double p = static_cast<double>(pos[per_row ? bi * t + ti : ti]);
        for (int64_t i = 0; i < half; ++i) {
          cs[i] = static_cast<T>(std::cos(p * inv_freq[i]));
          sn[i] = static_cast<T>(sign * std::sin(p * inv_freq[i]));
        }
        for (int64_t hi = 0; hi < h; ++hi) {
          const T* xr = xp + bi * xs[0] + hi * xs[1] + ti * xs[2];
          T* orow = op + bi * os[0] + hi * os[1] + ti * os[2];
          for (int64_t i = 0; i < half; ++i) {
            const T x1 = xr[i * xs[3]], x2 = xr[(half + i) * xs[3]];
            orow[i * os[3]] = x1 * cs[i] - x2 * sn[i];
            orow[(half + i) * os[3]] = x2 * cs[i] + x1 * sn[i];
          }
        }
      }
    });
  });
}

}  // namespace iapt::kernels::cpu
