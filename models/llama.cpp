#include "models/llama.h"

#include "core/error.h"
#include "core/ops.h"

namespace iapt::models {

LlamaMLP::LlamaMLP(int64_t hidden, int64_t intermediate, DType dtype) {
  gate_proj = register_module("gate_proj", std::make_shared<nn::Linear>(hidden, intermediate, false, dtype));
  up_proj = register_module("up_proj", std::make_shared<nn::Linear>(hidden, intermediate, false, dtype));
  down_proj = register_module("down_proj", std::make_shared<nn::Linear>(intermediate, hidden, false, dtype));
}

Variable LlamaMLP::forward(const Variable& x) const {
  return down_proj->forward(silu(gate_proj->forward(x)) * up_proj->forward(x));
}

LlamaDecoderLayer::LlamaDecoderLayer(const LlamaConfig& c, DType dtype) {
  self_attn = register_module("self_attn", std::make_shared<nn::LlamaAttention>(
                                                c.hidden_size, c.num_attention_heads, c.num_key_value_heads,
                                                c.rope_theta, dtype));
  mlp = register_module("mlp", std::make_shared<LlamaMLP>(c.hidden_size, c.intermediate_size, dtype));
  input_layernorm = register_module("input_layernorm", std::make_shared<nn::RMSNorm>(c.hidden_size, c.rms_norm_eps, dtype));
  post_attention_layernorm =
      register_module("post_attention_layernorm", std::make_shared<nn::RMSNorm>(c.hidden_size, c.rms_norm_eps, dtype));
}

Variable LlamaDecoderLayer::forward(const Variable& h, const nn::AttentionInputs& in) const {
  Variable x = h + self_attn->forward(input_layernorm->forward(h), in);
  return x + mlp->forward(post_attention_layernorm->forward(x));
}

LlamaModel::LlamaModel(const LlamaConfig& c, DType dtype) {
  embed_tokens = register_module("embed_tokens", std::make_shared<nn::Embedding>(c.vocab_size, c.hidden_size, dtype));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    layers.push_back(register_module("layers." + std::to_string(i), std::make_shared<LlamaDecoderLayer>(c, dtype)));
  norm = register_module("norm", std::make_shared<nn::RMSNorm>(c.hidden_size, c.rms_norm_eps, dtype));
}

LlamaForCausalLM::LlamaForCausalLM(const LlamaConfig& c, DType dtype) : config(c) {
  model = register_module("model", std::make_shared<LlamaModel>(c, dtype));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head", std::make_shared<nn::Linear>(c.hidden_size, c.vocab_size, false, dtype));
}

Variable LlamaForCausalLM::lm_head_weight() const { return lm_head ? lm_head->weight : model->embed_tokens->weight; }

Variable LlamaForCausalLM::forward(const Tensor& ids, const ForwardInputs& in) const {
  IAPT_CHECK(ids.dim() == 2 && ids.dtype() == DType::I64, "llama forward: ids must be i64 [B, T], got {} {}",
             dtype_name(ids.dtype()), shape_str(ids.shape()));
  return forward_embeds(model->embed_tokens->forward(ids), in);
}

Variable LlamaForCausalLM::forward_embeds(const Variable& embeds, const ForwardInputs& in) const {
  const int64_t b = embeds.size(0), t = embeds.size(1);
  const int64_t cached = in.cache ? in.cache->text_length() : 0;
  if (in.cache && in.cache->layers.empty()) in.cache->layers.resize(model->layers.size());
  Tensor positions = in.positions ? *in.positions : arange(static_cast<double>(cached), static_cast<double>(cached + t),
                                                           1.0, DType::I64);
  if (in.hooks && in.hooks->text_position_offset() != 0)
    positions = ops::add(positions.to(DType::F64), scalar_tensor(static_cast<double>(in.hooks->text_position_offset()),
                                                                 DType::F64))
                    .to(DType::I64);

  Variable h = embeds;
  for (size_t l = 0; l < model->layers.size(); ++l) {
    nn::AttentionInputs a;
    a.positions = positions;
    a.cache = in.cache ? &in.cache->layers[l] : nullptr;
    nn::KVPrefix prefix;  // asked for at prefill only: while decoding, the cache holds it
    const auto& layer = *model->layers[l];
    if (in.hooks && (!a.cache || a.cache->length() == 0))
      prefix = in.hooks->layer_prefix(static_cast<int64_t>(l), h, *layer.input_layernorm, *layer.self_attn);
    a.prefix = prefix.defined() ? &prefix : nullptr;
    // prefix positions this layer's queries see: given now, or stored in the cache at prefill
    const int64_t p = a.prefix ? a.prefix->length() : (a.cache ? a.cache->prefix : 0);
    if (in.attention_mask || p > 0) {
      // [B, keys]: the layer's prefix positions are always visible, then cached + current text
      Tensor text = in.attention_mask ? *in.attention_mask : ones({b, cached + t}, DType::I64);
      IAPT_CHECK(text.dim() == 2 && text.size(0) == b, "llama forward: attention_mask {} for a batch of {}",
                 shape_str(text.shape()), b);
      a.key_mask = p > 0 ? ops::concat({ones({b, p}, text.dtype(), text.device()), text}, 1) : text;
    }
    h = layer.forward(h, a);
  }
  return matmul(model->norm->forward(h), lm_head_weight(), false, true);
}

}  // namespace iapt::models
