#pragma once
// Global-norm gradient clipping: when the L2 norm of all gradients together exceeds max_norm,
// every gradient is scaled by max_norm / norm. Returns the norm before clipping.
#include <vector>

#include "autograd/variable.h"

namespace iapt::optim {

double clip_grad_norm(const std::vector<Variable>& params, double max_norm);

// The L2 norm of all gradients together (NaN or infinite where a gradient is).
double grad_norm(const std::vector<Variable>& params);

}  // namespace iapt::optim
