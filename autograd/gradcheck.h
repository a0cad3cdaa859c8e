#pragma once
// Central-difference gradient check in f64. The function's output is projected on a fixed random
// direction r (s = sum(out * r)); the analytic vector-Jacobian product from backward() is compared
// with (s(x + eps e_i) - s(x - eps e_i)) / 2 eps for every element of every input. Inputs may be
// non-contiguous views: elements are perturbed through their strides.
#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace iapt {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;  // of the projection direction
};

struct GradcheckReport {
  bool ok = true;
  double worst_abs_error = 0;  // |analytic - numeric| at the worst element
  double worst_rel_error = 0;  // the same divided by max(|numeric|, 1e-12)
  double worst_score = 0;      // |a - n| / (atol + rtol |n|): above 1 fails
  size_t input = 0;            // which input holds the worst element
  std::vector<int64_t> index;  // and where
  double analytic = 0, numeric = 0;
  int64_t elements_checked = 0;
  std::string to_string() const;
};

using GradcheckFn = std::function<Variable(const std::vector<Variable>&)>;

GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt = {});

// The same over leaves a function reads by itself (a module's parameters): f() is re-run with each
// element of each parameter perturbed in place. The parameters' .grad is overwritten.
GradcheckReport gradcheck_parameters(const std::function<Variable()>& f, const std::vector<Variable>& params,
                                     const GradcheckOptions& opt = {});

}  // namespace iapt
