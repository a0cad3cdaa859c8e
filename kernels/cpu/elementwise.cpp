// Elementwise kernels: copy/cast, fill, unary ops and their derivatives, binary ops, where, and
// the counter-based random fills.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/cpu/bf16_chunks.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/storage_types.h"
#include "kernels/cpu/strided.h"
#include "kernels/unary_math.h"

namespace iapt::kernels::cpu {

using kernels::binary_value;
using kernels::unary_derivative;
using kernels::unary_value;

namespace {

template <class D, class S>
void copy_typed(const Tensor& src, const Tensor& dst) {
  const S* s = static_cast<const S*>(src.raw_data());
  D* d = static_cast<D*>(dst.raw_data());
  for_each_offset<2>(dst.shape(), {&dst.strides(), &src.strides()},
                     [&](int64_t od, int64_t os) { d[od] = convert_value<D>(s[os]); });
}

// Dense f32 <-> bf16, the conversions that bf16 activations make around the ops without a bf16
// kernel, in bf16_chunks.h's vectorised bit loops (Eigen's scalar conversion, below, gives the
// same values; of a NaN it keeps the sign, where these write the quiet NaN 0x7fc0 as PyTorch does).
bool dense_bf16_copy(const Tensor& src, const Tensor& dst) {
  const bool widen = src.dtype() == DType::BF16 && dst.dtype() == DType::F32;
  const bool narrow = src.dtype() == DType::F32 && dst.dtype() == DType::BF16;
  if (!(widen || narrow) || !src.is_contiguous() || !dst.is_contiguous() || src.shape() != dst.shape()) return false;
  parallel_ranges(dst.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    if (widen)
      widen_bf16(static_cast<const uint16_t*>(src.raw_data()) + begin, dst.data<float>() + begin, end - begin);
    else
      round_to_bf16(src.data<float>() + begin, static_cast<uint16_t*>(dst.raw_data()) + begin, end - begin);
  });
  return true;
}

// A bf16 op on operands that are not all dense (broadcast, strided): computed on f32 copies, the
// result rounded into out.
template <class F>
void bf16_via_f32(const Tensor& out, F&& f32_op) {
  Tensor o = empty(out.shape(), DType::F32);
  f32_op(o);
  out.copy_(o);
}

}  // namespace

void copy(const Tensor& src, const Tensor& dst) {
  if (dense_bf16_copy(src, dst)) return;
  dispatch_storage(dst.dtype(), [&](auto d) {
    dispatch_storage(src.dtype(), [&](auto s) { copy_typed<decltype(d), decltype(s)>(src, dst); });
  });
}

void fill(const Tensor& dst, double value) {
  dispatch_storage(dst.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* d = static_cast<T*>(dst.raw_data());
    const T v = convert_value<T>(value);
    for_each_offset<1>(dst.shape(), {&dst.strides()}, [&](int64_t o) { d[o] = v; });
  });
}

void unary(UnaryOp op, const Tensor& x, double param, const Tensor& out) {
  if (out.dtype() == DType::BF16) {
    if (!dense_bf16({&x, &out}))
      return bf16_via_f32(out, [&](const Tensor& o) { unary(op, x.to(DType::F32), param, o); });
    const float p = static_cast<float>(param);
    return bf16_chunks<1, 1>({&x}, {&out}, [&](const auto& in, const auto& o, int64_t n) {
      for (int64_t i = 0; i < n; ++i) o[0][i] = unary_value<float>(op, in[0][i], p);
    });
  }
  dispatch_floating(x.dtype(), "unary", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* op_ = out.data<T>();
    T p = static_cast<T>(param);
    for_each_offset<2>(out.shape(), {&out.strides(), &x.strides()},
                       [&](int64_t o, int64_t i) { op_[o] = unary_value<T>(op, xp[i], p); });
  });
}

void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, double param,
                    const Tensor& grad_in) {
  if (grad_in.dtype() == DType::BF16) {
    const Tensor& yy = y.defined() ? y : x;
    if (!dense_bf16({&x, &yy, &grad_out, &grad_in}))
      return bf16_via_f32(grad_in, [&](const Tensor& gi) {
        unary_backward(op, x.to(DType::F32), yy.to(DType::F32), grad_out.to(DType::F32), param, gi);
      });
    const float p = static_cast<float>(param);
    return bf16_chunks<3, 1>({&x, &yy, &grad_out}, {&grad_in}, [&](const auto& in, const auto& o, int64_t n) {
      for (int64_t i = 0; i < n; ++i) o[0][i] = in[2][i] * unary_derivative<float>(op, in[0][i], in[1][i], p);
    });
  }
  dispatch_floating(x.dtype(), "unary backward", [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    const T* yp = y.defined() ? y.data<T>() : xp;
    const Shape& ys = y.defined() ? y.strides() : x.strides();
    const T* gp = grad_out.data<T>();
    T* gi = grad_in.data<T>();
    T p = static_cast<T>(param);
    for_each_offset<4>(grad_in.shape(), {&grad_in.strides(), &x.strides(), &ys, &grad_out.strides()},
                       [&](int64_t o, int64_t i, int64_t j, int64_t k) {
                         gi[o] = gp[k] * unary_derivative<T>(op, xp[i], yp[j], p);
                       });
  });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  if (out.dtype() == DType::BF16) {
    if (!dense_bf16({&a, &b, &out}))
      return bf16_via_f32(out, [&](const Tensor& o) { binary(op, a.to(DType::F32), b.to(DType::F32), o); });
    return bf16_chunks<2, 1>({&a, &b}, {&out}, [&](const auto& in, const auto& o, int64_t n) {
      for (int64_t i = 0; i < n; ++i) o[0][i] = binary_value<float>(op, in[0][i], in[1][i]);
    });
  }
  dispatch_floating(a.dtype(), "binary", [&](auto zero) {
    using T = decltype(zero);
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* o = out.data<T>();
    for_each_offset<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()},
                       [&](int64_t io, int64_t ia, int64_t ib) { o[io] = binary_value<T>(op, ap[ia], bp[ib]); });
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  // The condition keeps its own dtype (read in place, nonzero is true): no converted copy.
  dispatch_floating(a.dtype(), "where", [&](auto zero) {
    using T = decltype(zero);
    dispatch_any(cond.dtype(), "where", [&](auto czero) {
      using C = decltype(czero);
      const C* cp = static_cast<const C*>(cond.raw_data());
      const T* ap = a.data<T>();
      const T* bp = b.data<T>();
      T* o = out.data<T>();
      for_each_offset<4>(out.shape(), {&out.strides(), &cond.strides(), &a.strides(), &b.strides()},
                         [&](int64_t io, int64_t ic, int64_t ia, int64_t ib) { o[io] = cp[ic] != C(0) ? ap[ia] : bp[ib]; });
    });
  });
}

void uniform(const Tensor& out, uint64_t seed, uint64_t offset) {
  IAPT_CHECK(out.is_contiguous(), "uniform: output must be contiguous");
  dispatch_floating(out.dtype(), "uniform", [&](auto zero) {
    using T = decltype(zero);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i)
      p[i] = std::is_same_v<T, float> ? philox_uniform_f32(seed, offset + i) : philox_uniform_f64(seed, offset + i);
  });
}

void normal(const Tensor& out, uint64_t seed, uint64_t offset) {
  IAPT_CHECK(out.is_contiguous(), "normal: output must be contiguous");
  dispatch_floating(out.dtype(), "normal", [&](auto zero) {
    using T = decltype(zero);
    T* p = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<T>(philox_normal(seed, offset + i));
  });
}

}  // namespace iapt::kernels::cpu
