// Embedding gather and its backward, a scatter-add of rows into the weight gradient.
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

void embedding(const Tensor& weight_in, const Tensor& ids_in, const Tensor& out) {
  Tensor weight = weight_in.contiguous(), ids = ids_in.contiguous();
  const int64_t v = weight.size(0), d = weight.size(1), n = ids.numel();
  const int64_t* id = ids.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    IAPT_CHECK(id[i] >= 0 && id[i] < v, "embedding: id {} at flat position {} is outside the vocabulary [0, {})",
               id[i], i, v);
  const size_t row_bytes = static_cast<size_t>(d) * dtype_size(weight.dtype());
  const char* w = static_cast<const char*>(weight.raw_data());
  char* o = static_cast<char*>(out.raw_data());
  for (int64_t i = 0; i < n; ++i) std::memcpy(o + i * row_bytes, w + id[i] * row_bytes, row_bytes);
}

void embedding_backward(const Tensor& ids_in, const Tensor& grad_out_in, const Tensor& grad_weight) {
  Tensor ids = ids_in.contiguous(), g = grad_out_in.contiguous();
  IAPT_CHECK(grad_weight.is_contiguous(), "embedding backward: grad_weight must be contiguous");
  const int64_t d = grad_weight.size(1), n = ids.numel();
  const int64_t* id = ids.data<int64_t>();
  dispatch_floating(g.dtype(), "embedding backward", [&](auto zero) {
    using T = decltype(zero);
    const T* gp = g.data<T>();
    T* gw = grad_weight.data<T>();
    // Sequential over tokens, so repeated ids accumulate in a fixed order (deterministic).
    for (int64_t i = 0; i < n; ++i) {
      T* row = gw + id[i] * d;
      const T* src = gp + i * d;
      for (int64_t j = 0; j < d; ++j) row[j] += src[j];
    }
  });
}

}  // namespace iapt::kernels::cpu
