// Elementwise CUDA kernels: host/device transfer, copy/cast, fill, unary ops and their
// derivatives, binary ops, where, the fused SwiGLU, and the counter-based random fills (the same Philox numbers as
// the CPU backend for the same seed and counters).
#include "core/rng.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"
#include "kernels/unary_math.h"

namespace iapt::kernels::cuda {

namespace {

template <class D, class S>
struct CopyFn {
  D* dst;
  const S* src;
  __device__ void operator()(const int64_t* o) const { dst[o[0]] = convert_value<D>(src[o[1]]); }
};

template <class D, class S>
void copy_typed(const Tensor& src, const Tensor& dst) {
  launch_elementwise<2>(dst.shape(), {&dst.strides(), &src.strides()},
                        CopyFn<D, S>{static_cast<D*>(dst.raw_data()), static_cast<const S*>(src.raw_data())}, "copy");
}

template <class T>
struct FillFn {
  T* dst;
  T value;
  __device__ void operator()(const int64_t* o) const { dst[o[0]] = value; }
};

// T: the stored type; C: the type computed in (compute_t<T>: f32 for bf16 and f16, which are read
// and written as stored and rounded once per result).
template <class T, class C = compute_t<T>>
struct UnaryFn {
  UnaryOp op;
  C param;
  T* out;
  const T* x;
  __device__ void operator()(const int64_t* o) const {
    out[o[0]] = convert_value<T>(unary_value<C>(op, convert_value<C>(x[o[1]]), param));
  }
};

template <class T, class C = compute_t<T>>
struct UnaryBackwardFn {
  UnaryOp op;
  C param;
  T* grad_in;
  const T* x;
  const T* y;
  const T* grad_out;
  __device__ void operator()(const int64_t* o) const {
    grad_in[o[0]] =
        convert_value<T>(convert_value<C>(grad_out[o[3]]) *
                         unary_derivative<C>(op, convert_value<C>(x[o[1]]), convert_value<C>(y[o[2]]), param));
  }
};

template <class T, class C = compute_t<T>>
struct BinaryFn {
  BinaryOp op;
  T* out;
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t* o) const {
    out[o[0]] = convert_value<T>(binary_value<C>(op, convert_value<C>(a[o[1]]), convert_value<C>(b[o[2]])));
  }
};

template <class T, class Cond>
struct WhereFn {
  T* out;
  const Cond* cond;
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t* o) const {
    out[o[0]] = ld(cond[o[1]]) != compute_t<Cond>(0) ? a[o[2]] : b[o[3]];
  }
};

// SwiGLU as kernels/cpu/swiglu.cpp computes it: s = sigmoid(g), out = g s u;
// d gate = go u s (1 + g (1 - s)), d up = go g s.
template <class T, class C = compute_t<T>>
struct SwigluFn {
  T* out;
  const T* gate;
  const T* up;
  __device__ void operator()(const int64_t* o) const {
    const C g = ld(gate[o[0]]);
    out[o[0]] = st<T>(g * ld(up[o[0]]) / (C(1) + m_exp(-g)));
  }
};

template <class T, class C = compute_t<T>>
struct SwigluBackwardFn {
  T* grad_gate;
  T* grad_up;
  const T* gate;
  const T* up;
  const T* grad_out;
  __device__ void operator()(const int64_t* o) const {
    const C g = ld(gate[o[0]]), u = ld(up[o[0]]), go = ld(grad_out[o[0]]);
    const C s = C(1) / (C(1) + m_exp(-g));
    grad_up[o[0]] = st<T>(go * g * s);
    grad_gate[o[0]] = st<T>(go * u * s * (C(1) + g * (C(1) - s)));
  }
};

template <class T>
__global__ void uniform_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if constexpr (sizeof(T) == 4)
      out[i] = philox_uniform_f32(seed, offset + i);
    else
      out[i] = philox_uniform_f64(seed, offset + i);
  }
}

template <class T>
__global__ void normal_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = static_cast<T>(philox_normal(seed, offset + i));
}

void require_cuda(const Tensor& t, const char* op) {
  IAPT_CHECK(t.device() == Device::CUDA, "cuda {}: a tensor is on {}", op, device_name(t.device()));
}

}  // namespace

void transfer(const Tensor& src, const Tensor& dst) {
  IAPT_CHECK(src.is_contiguous() && dst.is_contiguous() && src.dtype() == dst.dtype() && src.numel() == dst.numel(),
             "cuda transfer: needs contiguous tensors of one dtype and size");
  const size_t bytes = static_cast<size_t>(src.numel()) * dtype_size(src.dtype());
  if (bytes == 0) return;
  cudaMemcpyKind kind = src.device() == Device::CPU
                            ? (dst.device() == Device::CPU ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice)
                            : (dst.device() == Device::CPU ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice);
  IAPT_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), bytes, kind, stream()));
  // The host side may be freed or read as soon as this returns.
  if (kind != cudaMemcpyDeviceToDevice) IAPT_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void copy(const Tensor& src, const Tensor& dst) {
  require_cuda(dst, "copy");
  require_cuda(src, "copy");
  dispatch_storage(dst.dtype(), [&](auto d) {
    dispatch_storage(src.dtype(), [&](auto s) { copy_typed<decltype(d), decltype(s)>(src, dst); });
  });
}

void fill(const Tensor& dst, double value) {
  require_cuda(dst, "fill");
  dispatch_storage(dst.dtype(), [&](auto zero) {
    using T = decltype(zero);
    launch_elementwise<1>(dst.shape(), {&dst.strides()},
                          FillFn<T>{static_cast<T*>(dst.raw_data()), convert_value<T>(value)}, "fill");
  });
}

template <class T, class C = compute_t<T>>
static void unary_t(UnaryOp op, const Tensor& x, double param, const Tensor& out) {
  launch_elementwise<2>(
      out.shape(), {&out.strides(), &x.strides()},
      UnaryFn<T, C>{op, static_cast<C>(param), static_cast<T*>(out.raw_data()), static_cast<const T*>(x.raw_data())},
      "unary");
}

void unary(UnaryOp op, const Tensor& x, double param, const Tensor& out) {
  require_cuda(x, "unary");
  dispatch_float_storage(x.dtype(), "unary", [&](auto zero) { unary_t<decltype(zero)>(op, x, param, out); });
}

template <class T, class C = compute_t<T>>
static void unary_backward_t(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g, double param,
                             const Tensor& gi) {
  const Tensor& yy = y.defined() ? y : x;
  auto p = [](const Tensor& t) { return static_cast<const T*>(t.raw_data()); };
  launch_elementwise<4>(
      gi.shape(), {&gi.strides(), &x.strides(), &yy.strides(), &g.strides()},
      UnaryBackwardFn<T, C>{op, static_cast<C>(param), static_cast<T*>(gi.raw_data()), p(x), p(yy), p(g)},
      "unary backward");
}

void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, double param,
                    const Tensor& grad_in) {
  require_cuda(x, "unary backward");
  dispatch_float_storage(x.dtype(), "unary backward",
                         [&](auto zero) { unary_backward_t<decltype(zero)>(op, x, y, grad_out, param, grad_in); });
}

template <class T, class C = compute_t<T>>
static void binary_t(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  launch_elementwise<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()},
                        BinaryFn<T, C>{op, static_cast<T*>(out.raw_data()), static_cast<const T*>(a.raw_data()),
                                       static_cast<const T*>(b.raw_data())},
                        "binary");
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  require_cuda(a, "binary");
  require_cuda(b, "binary");
  dispatch_float_storage(a.dtype(), "binary", [&](auto zero) { binary_t<decltype(zero)>(op, a, b, out); });
}

template <class T, class Cond>
static void where_t(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  launch_elementwise<4>(out.shape(), {&out.strides(), &cond.strides(), &a.strides(), &b.strides()},
                        WhereFn<T, Cond>{ptr<T>(out), ptr<const Cond>(cond), ptr<const T>(a), ptr<const T>(b)},
                        "where");
}

// A selection, no arithmetic: a and b in any floating dtype as stored, cond in any dtype.
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  require_cuda(cond, "where");
  require_cuda(a, "where");
  dispatch_float_storage(a.dtype(), "where", [&](auto t) {
    dispatch_storage(cond.dtype(), [&](auto c) { where_t<decltype(t), decltype(c)>(cond, a, b, out); });
  });
}

void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) {
  IAPT_CHECK(gate.is_contiguous() && up.is_contiguous() && out.is_contiguous(), "cuda swiglu: operands must be dense");
  dispatch_float_storage(gate.dtype(), "swiglu", [&](auto zero) {
    using T = decltype(zero);
    launch_elementwise<1>(out.shape(), {&out.strides()}, SwigluFn<T>{ptr<T>(out), ptr<const T>(gate), ptr<const T>(up)},
                          "swiglu");
  });
}

void swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& grad_out, const Tensor& grad_gate,
                     const Tensor& grad_up) {
  IAPT_CHECK(gate.is_contiguous() && up.is_contiguous() && grad_out.is_contiguous() && grad_gate.is_contiguous() &&
                 grad_up.is_contiguous(),
             "cuda swiglu backward: operands must be dense");
  dispatch_float_storage(gate.dtype(), "swiglu backward", [&](auto zero) {
    using T = decltype(zero);
    launch_elementwise<1>(gate.shape(), {&gate.strides()},
                          SwigluBackwardFn<T>{ptr<T>(grad_gate), ptr<T>(grad_up), ptr<const T>(gate), ptr<const T>(up),
                                              ptr<const T>(grad_out)},
                          "swiglu backward");
  });
}

void uniform(const Tensor& out, uint64_t seed, uint64_t offset) {
  require_cuda(out, "uniform");
  IAPT_CHECK(out.is_contiguous(), "cuda uniform: output must be contiguous");
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating(out.dtype(), "cuda uniform", [&](auto zero) {
    using T = decltype(zero);
    uniform_kernel<T><<<blocks_for(n), 256, 0, stream()>>>(out.data<T>(), n, seed, offset);
  });
  IAPT_LAUNCH_CHECK("uniform_kernel");
}

void normal(const Tensor& out, uint64_t seed, uint64_t offset) {
  require_cuda(out, "normal");
  IAPT_CHECK(out.is_contiguous(), "cuda normal: output must be contiguous");
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_floating(out.dtype(), "cuda normal", [&](auto zero) {
    using T = decltype(zero);
    normal_kernel<T><<<blocks_for(n), 256, 0, stream()>>>(out.data<T>(), n, seed, offset);
  });
  IAPT_LAUNCH_CHECK("normal_kernel");
}

}  // namespace iapt::kernels::cuda
