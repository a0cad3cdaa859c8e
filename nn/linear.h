#pragma once
// y = x W^T (+ b), W stored [out, in] as in PyTorch and Hugging Face checkpoints.
#include "autograd/functions.h"
#include "nn/module.h"

namespace iapt::nn {

class Linear;

// What a PEFT method attaches to a projection (LoRA, (IA)^3): it computes the projection's output
// from the input, calling base_forward for the frozen product where it needs it.
class LinearAdapter {
 public:
  virtual ~LinearAdapter() = default;
  virtual Variable forward(const Linear& base, const Variable& x) const = 0;
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = false, DType dtype = DType::F32);
  // x [..., in] -> [..., out], through the attached adapter if there is one
  Variable forward(const Variable& x) const;
  // The projection alone, x W^T (+ b)
  Variable base_forward(const Variable& x) const;
  Variable weight, bias;  // bias undefined unless asked for
  int64_t in_features, out_features;
  std::shared_ptr<const LinearAdapter> adapter;  // owned by the method that attached it
};

// A lookup table [num, dim]: ids [...] -> [..., dim].
class Embedding : public Module {
 public:
  Embedding(int64_t num, int64_t dim, DType dtype = DType::F32);
  Variable forward(const Tensor& ids) const { return embedding(weight, ids); }
  Variable weight;
};

// x * rsqrt(mean(x^2) + eps) * weight over the last axis.
class RMSNorm : public Module {
 public:
  RMSNorm(int64_t dim, double eps, DType dtype = DType::F32);
  Variable forward(const Variable& x) const { return rms_norm(x, weight, eps); }
  Variable weight;
  double eps;
};

}  // namespace iapt::nn
