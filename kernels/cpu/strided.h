#pragma once
// Iteration over N tensors of one shape with their own strides (broadcast axes have stride 0).
// The innermost axis runs as a plain loop; contiguous operands take a flat fast path. Large
// iterations are split over the OpenMP threads in contiguous ranges, so `f` must only write the
// element it is given (every caller writes one output element per call).
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/parallel.h"

namespace iapt::kernels::cpu {

// f(i0, i1, ..., i_{N-1}) receives each operand's element offset (relative to its data pointer).
template <size_t N, class F>
void for_each_offset(const Shape& shape, const std::array<const Shape*, N>& strides, F&& f) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t total = shape_numel(shape);
  if (total == 0) return;
  bool flat = true;
  Shape cs = contiguous_strides(shape);
  for (size_t k = 0; k < N && flat; ++k)
    for (int64_t d = 0; d < rank; ++d)
      if (shape[d] != 1 && (*strides[k])[d] != cs[d]) flat = false;
  auto call = [&](const std::array<int64_t, N>& o) {
    if constexpr (N == 1) f(o[0]);
    if constexpr (N == 2) f(o[0], o[1]);
    if constexpr (N == 3) f(o[0], o[1], o[2]);
    if constexpr (N == 4) f(o[0], o[1], o[2], o[3]);
  };
  if (flat) {
    parallel_ranges(total, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        std::array<int64_t, N> o;
        o.fill(i);
        call(o);
      }
    });
    return;
  }
  if (rank == 0) {
    call(std::array<int64_t, N>{});
    return;
  }
  const int64_t inner = shape[rank - 1];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = (*strides[k])[rank - 1];
  // rows [begin, end) of the outer axes, each range with its own odometer
  parallel_ranges(total / inner, std::max<int64_t>(1, kElementwiseGrain / inner), [&](int64_t begin, int64_t end) {
    std::vector<int64_t> idx(rank, 0);
    std::array<int64_t, N> base{};
    for (int64_t d = rank - 2, rest = begin; d >= 0; --d) {
      idx[d] = rest % shape[d];
      rest /= shape[d];
      for (size_t k = 0; k < N; ++k) base[k] += idx[d] * (*strides[k])[d];
    }
    for (int64_t outer = begin; outer < end; ++outer) {
      std::array<int64_t, N> o = base;
      for (int64_t i = 0; i < inner; ++i) {
        call(o);
        for (size_t k = 0; k < N; ++k) o[k] += inner_stride[k];
      }
      // advance the odometer over the outer axes
      for (int64_t d = rank - 2; d >= 0; --d) {
        if (++idx[d] < shape[d]) {
          for (size_t k = 0; k < N; ++k) base[k] += (*strides[k])[d];
          break;
        }
        for (size_t k = 0; k < N; ++k) base[k] -= (*strides[k])[d] * (shape[d] - 1);
        idx[d] = 0;
      }
    }
  });
}

}  // namespace iapt::kernels::cpu
