#pragma once
// The training loss of every method: cross-entropy of the response tokens, position t predicting
// label t + 1 (labels are -100 on the instruction and padding).
#include "experiments/run/batches.h"
#include "models/llama.h"
#include "nn/peft/method.h"

namespace iapt::run {

// Runs the model with the method's hooks on the batch; `logits`, when given, receives [B, T, V].
Variable response_loss(const models::LlamaForCausalLM& model, nn::PeftMethod& method, const Batch& batch,
                       Variable* logits = nullptr);

}  // namespace iapt::run
