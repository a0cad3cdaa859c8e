#pragma once
// AdamW (Loshchilov & Hutter): Adam moments with decoupled weight decay.
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * p
// Written with core ops, so it runs on any backend; parameters are updated in place.
#include <vector>

#include "autograd/variable.h"

namespace iapt::optim {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class AdamW {
 public:
  AdamW(std::vector<Variable> params, AdamWOptions options);
  void step();       // parameters without a gradient are left alone
  void zero_grad();  // drops every parameter's gradient
  int64_t steps() const { return t_; }

 private:
  std::vector<Variable> params_;
  std::vector<Tensor> m_, v_;
  AdamWOptions opt_;
  int64_t t_ = 0;
};

}  // namespace iapt::optim
