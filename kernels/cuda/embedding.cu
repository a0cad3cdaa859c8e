// Embedding gather and its backward. The gather flags an id outside the vocabulary; the host
// reads the flag and raises. The backward scatter-adds with atomics: rows of repeated ids are
// summed in an unspecified order (not bit-reproducible run to run, unlike the CPU backend).
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/indexing.cuh"
#include "kernels/cuda/storage_types.cuh"

namespace iapt::kernels::cuda {

namespace {

template <class T>
__global__ void gather_kernel(const T* w, const int64_t* ids, T* out, int64_t n, int64_t d, int64_t vocab, int* bad) {
  const int64_t total = n * d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t id = ids[i / d];
    if (id < 0 || id >= vocab) {
      atomicExch(bad, 1);
      out[i] = convert_value<T>(0.0f);
      continue;
    }
    out[i] = w[id * d + i % d];
  }
}

template <class T>
__global__ void scatter_add_kernel(const int64_t* ids, const T* g, T* gw, int64_t n, int64_t d) {
  const int64_t total = n * d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    atomicAdd(gw + ids[i / d] * d + i % d, g[i]);
}

}  // namespace

void embedding(const Tensor& weight_in, const Tensor& ids_in, const Tensor& out) {
  Tensor weight = weight_in.contiguous(), ids = ids_in.contiguous();
  const int64_t vocab = weight.size(0), d = weight.size(1), n = ids.numel();
  if (n * d == 0) return;
  Tensor bad = zeros({1}, DType::I64, Device::CUDA);
  int* flag = static_cast<int*>(bad.raw_data());
  // a copy of rows: any dtype as stored (a 16-bit backbone's table gives 16-bit rows)
  dispatch_float_storage(weight.dtype(), "embedding", [&](auto zero) {
    using T = decltype(zero);
    gather_kernel<T><<<blocks_for(n * d), 256, 0, stream()>>>(ptr<const T>(weight), ids.data<int64_t>(), ptr<T>(out), n,
                                                              d, vocab, flag);
  });
  IAPT_LAUNCH_CHECK("gather_kernel");
  IAPT_CHECK(bad.item() == 0, "embedding: an id is outside the vocabulary [0, {})", vocab);
}

void embedding_backward(const Tensor& ids_in, const Tensor& g_in, const Tensor& grad_weight) {
  Tensor ids = ids_in.contiguous(), g = g_in.contiguous();
  IAPT_CHECK(grad_weight.is_contiguous(), "cuda embedding backward: grad_weight must be contiguous");
  const int64_t d = grad_weight.size(1), n = ids.numel();
  if (n * d == 0) return;
  if (g.dtype() == DType::F32)
    scatter_add_kernel<float><<<blocks_for(n * d), 256, 0, stream()>>>(ids.data<int64_t>(), g.data<float>(),
                                                                       grad_weight.data<float>(), n, d);
  else
    scatter_add_kernel<double><<<blocks_for(n * d), 256, 0, stream()>>>(ids.data<int64_t>(), g.data<double>(),
                                                                        grad_weight.data<double>(), n, d);
  IAPT_LAUNCH_CHECK("scatter_add_kernel");
}

}  // namespace iapt::kernels::cuda
