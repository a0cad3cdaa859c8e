#pragma once
// P-tuning v2 (Liu et al.; prefix tuning's deep prompts): learned keys and values of k prefix
// positions at every layer, as PEFT stores them: one embedding [k, L * 2 * kv_dim] whose columns
// hold each layer's keys then values; optionally produced by a reparameterisation MLP from a
// [k, d] embedding, transform = Linear(d, hidden) -> tanh -> Linear(hidden, L * 2 * kv_dim).
// The keys are used as learned (no RoPE), like a cached past; the text starts at position k.
#include "nn/peft/method.h"
#include "nn/peft/start.h"

namespace iapt::nn {

struct PtuningV2Options {
  int64_t soft_tokens = 16;
  bool reparameterize = false;
  int64_t reparam_hidden = 512;
  ParameterStart prefix_start{"normal", 1.0};  // the embedding (the prefix table itself, or the MLP's input)
};

class PtuningV2 : public PeftMethod {
 public:
  PtuningV2(int64_t hidden, int64_t num_layers, int64_t kv_heads, int64_t head_dim, const PtuningV2Options& options,
            DType dtype = DType::F32);
  std::string name() const override { return "ptuning_v2"; }
  KVPrefix layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                        const LlamaAttention& attn) override;
  int64_t text_position_offset() const override { return options.soft_tokens; }

  PtuningV2Options options;
  Variable embedding;                      // [k, L 2 kv] or, reparameterised, [k, d]
  std::shared_ptr<Linear> transform_in, transform_out;  // the MLP, when reparameterised

 private:
  int64_t kv_heads_, head_dim_;
};

}  // namespace iapt::nn
