#pragma once
// Global-norm gradient clipping: when the L2 norm of all gradients together exceeds max_norm,
// every gradient is scaled by max_norm / norm. Returns the norm before clipping.
#include <vector>

#include "autograd/variable.h"

namespace iapt::optim {

double clip_grad_norm(const std::vector<Variable>& params, double max_norm);

// The L2 norm of all gradients together (NaN or infinite where a gradient is).
double grad_norm(const std::vector<Variable>& params);

// clip_grad_norm with the norm already measured (by grad_norm), so a caller that checks it first
// does not compute it twice.
void clip_grad_norm_from(const std::vector<Variable>& params, double max_norm, double norm);

}  // namespace iapt::optim
