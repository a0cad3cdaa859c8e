// The rational activation on CUDA (formulas in kernels/rational_math.h); 16-bit x computes in f32
// with f32 coefficients. The coefficient gradients are deterministic: each block writes its partial
// sums (a fixed grid, each thread a fixed set of elements), then one thread per coefficient adds the
// blocks' partials in order.
#include <algorithm>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"
#include "kernels/rational_math.h"

namespace iapt::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kMaxCoefficients = 2 * kMaxRationalDegree + 1;

// T: x's and y's storage; C = compute_t<T>: the coefficients and their gradients.
template <class T, class C = compute_t<T>>
__global__ void rational_forward_kernel(const T* x, const C* a, int m1, const C* b, int n, RationalVersion version,
                                        T* y, int64_t count) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const RationalPoint r = rational_point(static_cast<double>(ld(x[i])), a, m1, b, n, version);
    y[i] = st<T>(r.p / r.q);
  }
}

// partial[block * (m1 + n) + c]: this block's sum of the gradient of coefficient c
template <class T, class C = compute_t<T>>
__global__ void rational_backward_kernel(const T* x, const C* a, int m1, const C* b, int n, RationalVersion version,
                                         const T* g, T* gx, double* partial, bool want_coefficients, int64_t count) {
  __shared__ double shared[33];
  double acc[kMaxCoefficients];
  const int coefficients = m1 + n;
  for (int c = 0; c < coefficients; ++c) acc[c] = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const double xi = static_cast<double>(ld(x[i])), gy = static_cast<double>(ld(g[i]));
    const RationalPoint r = rational_point(xi, a, m1, b, n, version);
    const double inv_q = 1.0 / r.q;
    if (gx) gx[i] = st<T>(gy * (r.dp * r.q - r.p * r.dq) * inv_q * inv_q);
    if (!want_coefficients) continue;
    double xj = 1;
    for (int j = 0; j < m1; ++j, xj *= xi) acc[j] += gy * xj * inv_q;
    const double dr_dq = -r.p * inv_q * inv_q;
    for (int k = 0; k < n; ++k) acc[m1 + k] += gy * dr_dq * rational_dq_db(xi, k, b, r, version);
  }
  if (!want_coefficients) return;
  for (int c = 0; c < coefficients; ++c) {
    const double total = block_sum(acc[c], shared);
    if (threadIdx.x == 0) partial[blockIdx.x * coefficients + c] = total;
  }
}

template <class T>
__global__ void sum_partials_kernel(const double* partial, int blocks, int m1, int n, T* ga, T* gb) {
  const int coefficients = m1 + n;
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= coefficients) return;
  double s = 0;
  for (int blk = 0; blk < blocks; ++blk) s += partial[blk * coefficients + c];
  if (c < m1) {
    if (ga) ga[c] = static_cast<T>(s);
  } else if (gb) {
    gb[c - m1] = static_cast<T>(s);
  }
}

void check_degrees(int m1, int n) {
  IAPT_CHECK(m1 >= 1 && m1 <= kMaxRationalDegree + 1 && n >= 0 && n <= kMaxRationalDegree,
             "cuda rational: degrees ({}, {}) outside [0, {}]", m1 - 1, n, kMaxRationalDegree);
}

}  // namespace

void rational(const Tensor& x_in, const Tensor& num_in, const Tensor& den_in, RationalVersion version,
              const Tensor& out) {
  Tensor x = x_in.contiguous(), num = parameter_as_compute(num_in, x_in.dtype()),
         den = parameter_as_compute(den_in, x_in.dtype());
  const int m1 = static_cast<int>(num.numel()), n = static_cast<int>(den.numel());
  check_degrees(m1, n);
  const int64_t count = x.numel();
  if (count == 0) return;
  dispatch_float_storage(x.dtype(), "rational", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    rational_forward_kernel<T><<<blocks_for(count, kThreads), kThreads, 0, stream()>>>(
        ptr<const T>(x), ptr<const C>(num), m1, ptr<const C>(den), n, version, ptr<T>(out), count);
  });
  IAPT_LAUNCH_CHECK("rational_forward_kernel");
}

void rational_backward(const Tensor& x_in, const Tensor& num_in, const Tensor& den_in, RationalVersion version,
                       const Tensor& g_in, const Tensor& grad_x, const Tensor& grad_num, const Tensor& grad_den) {
  Tensor x = x_in.contiguous(), num = parameter_as_compute(num_in, x_in.dtype()),
         den = parameter_as_compute(den_in, x_in.dtype()), g = g_in.contiguous();
  const int m1 = static_cast<int>(num.numel()), n = static_cast<int>(den.numel());
  check_degrees(m1, n);
  const int64_t count = x.numel();
  const bool want_coefficients = grad_num.defined() || grad_den.defined();
  const int blocks = static_cast<int>(std::min<int64_t>(std::max<int64_t>((count + kThreads - 1) / kThreads, 1), 1024));
  Tensor partial = empty({static_cast<int64_t>(blocks) * (m1 + n)}, DType::F64, Device::CUDA);
  const Tensor ga = parameter_grad_buffer(grad_num, x.dtype()), gb = parameter_grad_buffer(grad_den, x.dtype());
  dispatch_float_storage(x.dtype(), "rational backward", [&](auto zero) {
    using T = decltype(zero);
    using C = compute_t<T>;
    T* gx = grad_x.defined() ? ptr<T>(grad_x) : nullptr;
    rational_backward_kernel<T><<<blocks, kThreads, 0, stream()>>>(ptr<const T>(x), ptr<const C>(num), m1,
                                                                   ptr<const C>(den), n, version, ptr<const T>(g), gx,
                                                                   partial.data<double>(), want_coefficients, count);
    IAPT_LAUNCH_CHECK("rational_backward_kernel");
    if (!want_coefficients) return;
    sum_partials_kernel<C><<<1, 64, 0, stream()>>>(partial.data<double>(), blocks, m1, n,
                                                   ga.defined() ? ptr<C>(ga) : nullptr,
                                                   gb.defined() ? ptr<C>(gb) : nullptr);
    IAPT_LAUNCH_CHECK("sum_partials_kernel");
  });
  if (ga.defined() && ga.storage() != grad_num.storage()) copy(ga, grad_num);
  if (gb.defined() && gb.storage() != grad_den.storage()) copy(gb, grad_den);
}

}  // namespace iapt::kernels::cuda
