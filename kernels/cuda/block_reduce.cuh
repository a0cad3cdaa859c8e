#pragma once
// Block-wide sum and max by warp shuffles, for kernels that give one block to one row.
// Every thread of the block must call them; all receive the result.
#include "kernels/cuda/storage_types.cuh"

namespace iapt::kernels::cuda {

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

// max that propagates NaN, as the CPU backend does
template <class T>
__device__ __forceinline__ T nan_max(T a, T b) {
  return (b > a || b != b) ? b : a;
}

template <class T>
__device__ __forceinline__ T warp_max(T v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = nan_max(v, __shfl_down_sync(0xffffffffu, v, off));
  return v;
}

// `shared` holds at least 33 values.
template <class T>
__device__ T block_sum(T v, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // `shared` may still be read from a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < warps ? shared[lane] : T(0);
    w = warp_sum(w);
    if (lane == 0) shared[32] = w;
  }
  __syncthreads();
  return shared[32];
}

template <class T>
__device__ T block_max(T v, T* shared, T lowest) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < warps ? shared[lane] : lowest;
    w = warp_max(w);
    if (lane == 0) shared[32] = w;
  }
  __syncthreads();
  return shared[32];
}

// Over a row of n values, for the whole block: its maximum m and the sum s of exp(x - m), in
// double (the log-sum-exp is m + log s). 16-bit values are widened as read.
template <class T>
__device__ void block_row_max_sumexp(const T* row, int64_t n, double* shared, double& m, double& s) {
  m = -HUGE_VAL;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmax(m, static_cast<double>(ld(row[j])));
  m = block_max(m, shared, -HUGE_VAL);
  s = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += exp(static_cast<double>(ld(row[j])) - m);
  s = block_sum(s, shared);
}

}  // namespace iapt::kernels::cuda
