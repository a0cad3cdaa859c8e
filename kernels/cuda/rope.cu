// Rotary position embedding, rotate-half convention (kernels/cpu/rope.cpp): one thread per
// rotated pair (b, h, t, i < D/2); angles in double, as on the CPU; 16-bit x rotated in f32.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"

namespace iapt::kernels::cuda {

namespace {

template <class T>
__global__ void rope_kernel(const T* x, const int64_t* pos, T* out, int64_t b, int64_t h, int64_t t, int64_t d,
                            bool per_row, double theta, double sign) {
  const int64_t half = d / 2, pairs = b * h * t * half;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; p < pairs;
       p += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = p % half, row = p / half;  // row = (bi * h + hi) * t + ti
    const int64_t ti = row % t, bi = row / (h * t);
    const double angle = static_cast<double>(pos[per_row ? bi * t + ti : ti]) *
                         (1.0 / pow(theta, static_cast<double>(2 * i) / static_cast<double>(d)));
    using C = compute_t<T>;
    const C c = static_cast<C>(cos(angle)), s = static_cast<C>(sign * sin(angle));
    const int64_t base = row * d;
    const C x1 = ld(x[base + i]), x2 = ld(x[base + half + i]);
    out[base + i] = st<T>(x1 * c - x2 * s);
    out[base + half + i] = st<T>(x2 * c + x1 * s);
  }
}

}  // namespace

void rope(const Tensor& x_in, const Tensor& positions_in, double theta, bool inverse, const Tensor& out) {
  Tensor x = x_in.contiguous(), positions = positions_in.contiguous();
  const int64_t b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
  const int64_t pairs = b * h * t * (d / 2);
  if (pairs == 0) return;
  const bool per_row = positions.dim() == 2;
  const double sign = inverse ? -1.0 : 1.0;
  IAPT_CHECK(out.is_contiguous(), "cuda rope: output must be contiguous");
  dispatch_float_storage(x.dtype(), "rope", [&](auto zero) {
    using T = decltype(zero);
    rope_kernel<T><<<blocks_for(pairs), 256, 0, stream()>>>(ptr<const T>(x), positions.data<int64_t>(), ptr<T>(out), b,
                                                            h, t, d, per_row, theta, sign);
  });
  IAPT_LAUNCH_CHECK("rope_kernel");
}

}  // namespace iapt::kernels::cuda
