#pragma once
// y = x W^T (+ b), W stored [out, in] as in PyTorch and Hugging Face checkpoints.
#include "autograd/functions.h"
#include "nn/module.h"

namespace iapt::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = false, DType dtype = DType::F32);
  // x [..., in] -> [..., out]
  Variable forward(const Variable& x) const;
  Variable weight, bias;  // bias undefined unless asked for
  int64_t in_features, out_features;
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
