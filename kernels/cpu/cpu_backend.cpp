#include "kernels/cpu/cpu_kernels.h"

namespace iapt::kernels::cpu {

const Backend& backend() {
  static const Backend table{
      .name = "cpu",
      .copy = copy,
      .fill = fill,
      .unary = unary,
      .unary_backward = unary_backward,
      .binary = binary,
      .where = where,
      .reduce = reduce,
      .gemm = gemm,
      .softmax = softmax,
      .softmax_backward = softmax_backward,
      .cross_entropy = cross_entropy,
      .cross_entropy_backward = cross_entropy_backward,
      .embedding = embedding,
      .embedding_backward = embedding_backward,
      .rms_norm = rms_norm,
      .rms_norm_backward = rms_norm_backward,
      .layer_norm = layer_norm,
      .layer_norm_backward = layer_norm_backward,
      .rope = rope,
      .uniform = uniform,
      .normal = normal,
  };
  return table;
}

}  // namespace iapt::kernels::cpu
