#include "nn/peft/ptuning_v2.h"

#include "core/error.h"
#include "core/ops.h"

namespace iapt::nn {

PtuningV2::PtuningV2(int64_t hidden, int64_t num_layers, int64_t kv_heads, int64_t head_dim, const PtuningV2Options& o,
                     DType dtype)
    : PeftMethod("prompt_encoder."), options(o), kv_heads_(kv_heads), head_dim_(head_dim) {
  const int64_t width = num_layers * 2 * kv_heads * head_dim;
  if (o.reparameterize) {
    embedding = register_parameter("embedding.weight", randn({o.soft_tokens, hidden}, dtype));
    transform_in = register_module("transform.0", std::make_shared<Linear>(hidden, o.reparam_hidden, true, dtype));
    transform_out = register_module("transform.2", std::make_shared<Linear>(o.reparam_hidden, width, true, dtype));
  } else {
    embedding = register_parameter("embedding.weight", randn({o.soft_tokens, width}, dtype));
  }
  // "default" is the standard normal above
  apply_start(embedding, o.prefix_start);
}

KVPrefix PtuningV2::layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                                 const LlamaAttention& attn) {
  const int64_t k = options.soft_tokens, kv = kv_heads_ * head_dim_, b = h.size(0);
  Variable table = options.reparameterize ? transform_out->forward(tanh(transform_in->forward(embedding))) : embedding;
  auto heads = [&](int64_t column) {  // [k, kv] -> [B, Hkv, k, hd]
    Variable x = transpose(reshape(narrow(table, 1, column, kv), {k, kv_heads_, head_dim_}), 0, 1);
    return expand(unsqueeze(x, 0), {b, kv_heads_, k, head_dim_});
  };
  KVPrefix prefix{heads(layer * 2 * kv), heads(layer * 2 * kv + kv)};
  if (statistics.enabled && batch.instruction_mask.defined())
    record_prefix_norms(statistics, layer, prefix, h, batch.instruction_mask, input_norm, attn);
  return prefix;
}

}  // namespace iapt::nn
