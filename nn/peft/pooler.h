#pragma once
// Poolers of the IAPT generator: k soft-token vectors [B, k, m] from the projected hidden states
// Z [B, T, m], reading only instruction tokens (mask [B, T], nonzero = instruction).
//   attention: A = softmax over the instruction tokens of Z q^T (one learned query per soft token),
//              P~ = A^T Z: each soft token its own weighting of the instruction
//   mean, max, last: one pooled vector, the same for all k soft tokens (they differ by position)
#include <string>

#include "nn/module.h"

namespace iapt::nn {

enum class PoolerKind { Attention, Mean, Max, Last };
PoolerKind parse_pooler(const std::string& name);  // "attention", "mean", "max", "last"
const char* pooler_name(PoolerKind kind);

class Pooler : public Module {
 public:
  Pooler(PoolerKind kind, int64_t soft_tokens, int64_t bottleneck, DType dtype = DType::F32);
  // z [B, T, m], mask i64/float [B, T] -> [B, k, m]. With `entropy` (attention only): the mean
  // over rows and soft tokens of the attention's entropy over the instruction, divided by log of
  // the row's instruction length (1: uniform, as mean pooling; 0: one token).
  Variable forward(const Variable& z, const Tensor& mask, double* entropy = nullptr) const;

  PoolerKind kind;
  int64_t soft_tokens;
  Variable query;  // [k, m], attention only
};

}  // namespace iapt::nn
