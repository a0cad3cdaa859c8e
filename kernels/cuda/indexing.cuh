#pragma once
// Element offsets of up to four operands over one shape, each with its own strides (broadcast axes
// have stride 0), for grid-stride loops. Operands that are all dense in the output's order take
// the flat path with no division.
#include <array>
#include <cstdint>

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

namespace iapt::kernels::cuda {

constexpr int kMaxRank = 8;

template <int N>
struct Indexer {
  int rank = 0;
  bool flat = true;
  int64_t sizes[kMaxRank] = {};
  int64_t strides[N][kMaxRank] = {};

  __device__ __forceinline__ void offsets(int64_t linear, int64_t (&o)[N]) const {
    if (flat) {
#pragma unroll
      for (int k = 0; k < N; ++k) o[k] = linear;
      return;
    }
#pragma unroll
    for (int k = 0; k < N; ++k) o[k] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t i = linear % sizes[d];
      linear /= sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) o[k] += i * strides[k][d];
    }
  }
};

template <int N>
Indexer<N> make_indexer(const Shape& shape, const std::array<const Shape*, N>& strides) {
  Indexer<N> ix;
  // Drop size-1 axes: they move no offset, and fewer axes mean fewer divisions.
  Shape dense = contiguous_strides(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    for (int k = 0; k < N; ++k)
      if (shape[d] != 1 && (*strides[k])[d] != dense[d]) ix.flat = false;
    if (shape[d] == 1) continue;
    IAPT_CHECK(ix.rank < kMaxRank, "cuda: tensors of more than {} non-unit axes are not supported, got {}", kMaxRank,
               shape_str(shape));
    ix.sizes[ix.rank] = shape[d];
    for (int k = 0; k < N; ++k) ix.strides[k][ix.rank] = (*strides[k])[d];
    ++ix.rank;
  }
  return ix;
}

// f(o) for every element, o holding the N operands' offsets.
template <int N, class F>
__global__ void elementwise_kernel(int64_t n, Indexer<N> ix, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t o[N];
    ix.offsets(i, o);
    f(o);
  }
}

template <int N, class F>
void launch_elementwise(const Shape& shape, const std::array<const Shape*, N>& strides, const F& f,
                        const char* name) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  Indexer<N> ix = make_indexer<N>(shape, strides);
  elementwise_kernel<N, F><<<blocks_for(n), 256, 0, stream()>>>(n, ix, f);
  IAPT_LAUNCH_CHECK(name);
}

}  // namespace iapt::kernels::cuda
