#include "kernels/cuda/cuda_allocator.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"

namespace iapt::kernels::cuda {

namespace {
Backend make_table() {
  Backend t{};
  t.name = "cuda";
  t.allocate = device_allocate;
  t.release = device_release;
  t.transfer = transfer;
  t.synchronize = synchronize;
  t.copy = copy;
  t.fill = fill;
  t.unary = unary;
  t.unary_backward = unary_backward;
  t.binary = binary;
  t.where = where;
  t.reduce = reduce;
  t.gemm = gemm;
  t.softmax = softmax;
  t.softmax_backward = softmax_backward;
  t.cross_entropy = cross_entropy;
  t.cross_entropy_backward = cross_entropy_backward;
  t.embedding = embedding;
  t.embedding_backward = embedding_backward;
  t.rms_norm = rms_norm;
  t.rms_norm_backward = rms_norm_backward;
  t.layer_norm = layer_norm;
  t.layer_norm_backward = layer_norm_backward;
  t.rope = rope;
  t.rational = rational;
  t.rational_backward = rational_backward;
  t.uniform = uniform;
  t.normal = normal;
  return t;
}
}  // namespace

const Backend& backend() {
  static const Backend table = make_table();
  return table;
}

}  // namespace iapt::kernels::cuda
