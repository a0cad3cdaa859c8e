#pragma once
// The ranks' share of a data-parallel step (experiments/run/trainer.cpp; the batches' split is
// BatchSchedule::share in experiments/run/batches.h).
#include <vector>

#include "autograd/variable.h"
#include "optim/communicator.h"

namespace iapt::run {

// Sums the trainable parameters' gradients and the loss over the ranks, in one reduction: each
// rank's loss was weighted by its share of the batch's counted tokens, so the sums are the whole
// batch's. A parameter that no token of this rank reached gets a zero gradient first.
double sum_over_ranks(const optim::Communicator& world, const std::vector<Variable>& trained, double loss);

}  // namespace iapt::run
