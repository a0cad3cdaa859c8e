#include "optim/clip.h"

#include <cmath>

#include "core/ops.h"

namespace iapt::optim {

double grad_norm(const std::vector<Variable>& params) {
  NoGradGuard no_grad;
  double total = 0;
  for (const auto& p : params)
    if (p.grad().defined()) total += ops::sum(ops::mul(p.grad(), p.grad())).item();
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Variable>& params, double max_norm) {
  const double norm = grad_norm(params);
  clip_grad_norm_from(params, max_norm, norm);
  return norm;
}

void clip_grad_norm_from(const std::vector<Variable>& params, double max_norm, double norm) {
  NoGradGuard no_grad;
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& p : params)
      if (p.grad().defined()) p.set_grad(ops::mul_scalar(p.grad(), scale));
  }
}

}  // namespace iapt::optim
