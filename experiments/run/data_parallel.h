#pragma once
// The ranks' share of a data-parallel run (experiments/run/trainer.cpp; the batches' split is
// BatchSchedule::share in experiments/run/batches.h): the step's sums, and evaluation in shards.
#include <vector>

#include "autograd/variable.h"
#include "experiments/run/evaluator.h"
#include "optim/communicator.h"

namespace iapt::run {

// Sums the trainable parameters' gradients and the loss over the ranks, in one reduction: each
// rank's loss was weighted by its share of the batch's counted tokens, so the sums are the whole
// batch's. A parameter that no token of this rank reached gets a zero gradient first.
double sum_over_ranks(const optim::Communicator& world, const std::vector<Variable>& trained, double loss);

// `evaluate` with the examples shared out: each rank takes a contiguous block of them, and rank 0
// gathers every prediction and score, in the examples' order, and scores them all. Only rank 0's
// result holds anything; every rank must call it. One rank: `evaluate` itself.
Evaluation evaluate_on_ranks(const optim::Communicator& world, const models::LlamaForCausalLM& model,
                             nn::PeftMethod& method, const models::Tokenizer& tok, const tasks::TaskSpec& task,
                             const std::vector<tasks::Example>& examples, const TaskOptions& task_options,
                             const EvaluationOptions& options);

}  // namespace iapt::run
