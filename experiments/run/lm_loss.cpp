#include "experiments/run/lm_loss.h"

#include "autograd/functions.h"

namespace iapt::run {

Variable response_loss(const models::LlamaForCausalLM& model, nn::PeftMethod& method, const Batch& b,
                       Variable* logits_out) {
  models::ForwardInputs in;
  in.attention_mask = b.attention_mask;
  in.hooks = &method;
  in.batch.instruction_mask = b.instruction_mask;
  const int64_t rows = b.input_ids.size(0), t = b.input_ids.size(1);
  Variable hidden = model.hidden_states(b.input_ids, in);  // [B, T, d]
  if (logits_out) {
    Variable logits = model.logits_of(hidden);  // [B, T, V]
    *logits_out = logits;
    return cross_entropy(reshape(narrow(logits, 1, 0, t - 1), {rows * (t - 1), logits.size(2)}),
                         b.labels.narrow(1, 1, t - 1).reshape({rows * (t - 1)}), -100);
  }
  // Only the positions that predict a response token reach the vocabulary: the same loss and
  // gradients, without the [B, T, V] logits of the instruction.
  Tensor labels = b.labels.to(Device::CPU).contiguous();
  const int64_t* lp = labels.data<int64_t>();
  std::vector<int64_t> at, target;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j + 1 < t; ++j)
      if (lp[r * t + j + 1] != -100) at.push_back(r * t + j), target.push_back(lp[r * t + j + 1]);
  if (at.empty()) return mul_scalar(sum(hidden), 0.0);  // no response token: a zero loss, zero gradients
  const int64_t n = static_cast<int64_t>(at.size());
  Variable picked = embedding(reshape(hidden, {rows * t, hidden.size(2)}), from_ints(at, {n}));  // [N, d]
  return cross_entropy(model.logits_of(picked), from_ints(target, {n}), -100);
}

}  // namespace iapt::run
