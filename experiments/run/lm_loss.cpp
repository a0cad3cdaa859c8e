#include "experiments/run/lm_loss.h"

#include "autograd/functions.h"

namespace iapt::run {

Variable response_loss(const models::LlamaForCausalLM& model, nn::PeftMethod& method, const Batch& b,
                       Variable* logits_out) {
  method.set_instruction_mask(b.instruction_mask);
  models::ForwardInputs in;
  in.attention_mask = b.attention_mask;
  in.hooks = &method;
  Variable logits = model.forward(b.input_ids, in);
  if (logits_out) *logits_out = logits;
  const int64_t rows = b.input_ids.size(0), t = b.input_ids.size(1), v = logits.size(2);
  return cross_entropy(reshape(narrow(logits, 1, 0, t - 1), {rows * (t - 1), v}),
                       b.labels.narrow(1, 1, t - 1).reshape({rows * (t - 1)}), -100);
}

}  // namespace iapt::run
