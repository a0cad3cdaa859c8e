#include "models/llama.h"

#include "core/error.h"
#include "core/ops.h"

namespace iapt::models {

DType weights_dtype(const std::string& name) {
  if (name == "bf16") return DType::BF16;
  if (name == "f16") return DType::F16;
  IAPT_CHECK(name == "f32", "weights dtype '{}': expected f32, bf16 or f16", name);
  return DType::F32;
}

Precision precision_of(const std::string& weights, const std::string& compute, const std::string& weights_key,
                       const std::string& compute_key) {
  IAPT_CHECK(compute == "f32" || compute == weights,
             "{}{} keeps the activations in the weights' dtype, so it needs {}{} (got {}{})", compute_key, compute,
             weights_key, compute, weights_key, weights);
  return {DType::F32, weights_dtype(weights), compute != "f32"};
}

LlamaMLP::LlamaMLP(int64_t hidden, int64_t intermediate, DType weights) {
  gate_proj = register_module("gate_proj", std::make_shared<nn::Linear>(hidden, intermediate, false, weights));
  up_proj = register_module("up_proj", std::make_shared<nn::Linear>(hidden, intermediate, false, weights));
  down_proj = register_module("down_proj", std::make_shared<nn::Linear>(intermediate, hidden, false, weights));
}

Variable LlamaMLP::forward(const Variable& x) const {
  return down_proj->forward(swiglu(gate_proj->forward(x), up_proj->forward(x)));
}

LlamaDecoderLayer::LlamaDecoderLayer(const LlamaConfig& c, Precision p) {
  self_attn = register_module("self_attn", std::make_shared<nn::LlamaAttention>(
                                                c.hidden_size, c.num_attention_heads, c.num_key_value_heads,
                                                c.rope_theta, p.weights));
  mlp = register_module("mlp", std::make_shared<LlamaMLP>(c.hidden_size, c.intermediate_size, p.weights));
  input_layernorm =
      register_module("input_layernorm", std::make_shared<nn::RMSNorm>(c.hidden_size, c.rms_norm_eps, p.compute));
  post_attention_layernorm = register_module("post_attention_layernorm",
                                             std::make_shared<nn::RMSNorm>(c.hidden_size, c.rms_norm_eps, p.compute));
}

Variable LlamaDecoderLayer::forward(const Variable& h, const nn::AttentionInputs& in, nn::ForwardHooks* hooks,
                                    int64_t index) const {
  Variable a_in = input_layernorm->forward(h);
  Variable a = self_attn->forward(a_in, in);
  if (hooks) a = hooks->adapt_sublayer(index, nn::Sublayer::Attention, a_in, a);
  Variable x = h + a;
  Variable m_in = post_attention_layernorm->forward(x);
  Variable m = mlp->forward(m_in);
  if (hooks) m = hooks->adapt_sublayer(index, nn::Sublayer::Mlp, m_in, m);
  return x + m;
}

namespace {
// Positions 0..k-1 for k inserted tokens in front of the given ones ([T] or [B, T]).
Tensor prepend_positions(int64_t k, const Tensor& positions) {
  Tensor front = arange(k, DType::I64);
  if (positions.dim() == 2) front = front.reshape({1, k}).expand({positions.size(0), k}).contiguous();
  return ops::concat({front.to(positions.device()), positions}, positions.dim() - 1);
}
}  // namespace

LlamaModel::LlamaModel(const LlamaConfig& c, Precision p) {
  embed_tokens = register_module("embed_tokens", std::make_shared<nn::Embedding>(c.vocab_size, c.hidden_size, p.weights));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    layers.push_back(register_module("layers." + std::to_string(i), std::make_shared<LlamaDecoderLayer>(c, p)));
  norm = register_module("norm", std::make_shared<nn::RMSNorm>(c.hidden_size, c.rms_norm_eps, p.compute));
}

LlamaForCausalLM::LlamaForCausalLM(const LlamaConfig& c, Precision p) : config(c), precision(p) {
  IAPT_CHECK(p.compute == DType::F32 || p.compute == DType::F64, "LLaMA: activations are computed in f32 or f64, not {}",
             dtype_name(p.compute));
  IAPT_CHECK(p.weights == p.compute || is_16bit(p.weights), "LLaMA: weights in {} with activations in {}: the weights "
             "are either the activations' dtype or 16-bit (bf16, f16)", dtype_name(p.weights), dtype_name(p.compute));
  IAPT_CHECK(!p.activations_in_weights_dtype || (is_16bit(p.weights) && p.compute == DType::F32),
             "LLaMA: 16-bit activations need 16-bit weights and f32 for the rest, got weights {} and {}",
             dtype_name(p.weights), dtype_name(p.compute));
  model = register_module("model", std::make_shared<LlamaModel>(c, p));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head", std::make_shared<nn::Linear>(c.hidden_size, c.vocab_size, false, p.weights));
}

Variable LlamaForCausalLM::lm_head_weight() const { return lm_head ? lm_head->weight : model->embed_tokens->weight; }

Variable LlamaForCausalLM::forward(const Tensor& ids, const ForwardInputs& in) const {
  IAPT_CHECK(ids.dim() == 2 && ids.dtype() == DType::I64, "llama forward: ids must be i64 [B, T], got {} {}",
             dtype_name(ids.dtype()), shape_str(ids.shape()));
  return forward_embeds(model->embed_tokens->forward(ids), in);
}

Variable LlamaForCausalLM::forward_embeds(const Variable& embeds, const ForwardInputs& in) const {
  return logits_of(hidden_states_of(embeds, in));
}

Variable LlamaForCausalLM::hidden_states(const Tensor& ids, const ForwardInputs& in) const {
  IAPT_CHECK(ids.dim() == 2 && ids.dtype() == DType::I64, "llama forward: ids must be i64 [B, T], got {} {}",
             dtype_name(ids.dtype()), shape_str(ids.shape()));
  return hidden_states_of(model->embed_tokens->forward(ids), in);
}

// Logits leave in the compute dtype (f32) whatever the activations', as scores and losses read them.
Variable LlamaForCausalLM::logits_of(const Variable& hidden) const {
  return cast(matmul(hidden, lm_head_weight(), false, true), precision.compute);
}

Variable LlamaForCausalLM::hidden_states_of(const Variable& embeds, const ForwardInputs& in) const {
  const int64_t b = embeds.size(0), t = embeds.size(1);
  const int64_t cached = in.cache ? in.cache->text_length() : 0;
  if (in.cache && in.cache->layers.empty()) in.cache->layers.resize(model->layers.size());
  Tensor positions = in.positions ? *in.positions : arange(static_cast<double>(cached), static_cast<double>(cached + t),
                                                           1.0, DType::I64);
  if (in.hooks && in.hooks->text_position_offset() != 0)
    positions = ops::add(positions.to(DType::F64), scalar_tensor(static_cast<double>(in.hooks->text_position_offset()),
                                                                 DType::F64))
                    .to(DType::I64);

  Variable h = cast(embeds, precision.activations());  // the table's rows widen to f32 as they are read
  nn::BatchInputs batch = in.batch;  // what the hooks read: the caller's, and the input embeddings
  batch.input_embeddings = embeds;
  int64_t inserted = 0;  // prompt tokens in front of the text in h (prompt tuning, IDPG, LPT)
  for (size_t l = 0; l < model->layers.size(); ++l) {
    const auto& layer = *model->layers[l];
    nn::AttentionInputs a;
    a.cache = in.cache ? &in.cache->layers[l] : nullptr;
    const bool prefill = !a.cache || a.cache->length() == 0;  // hooks add their tokens then only
    nn::KVPrefix prefix;
    if (in.hooks && prefill) {
      Variable tokens = in.hooks->insert_tokens(static_cast<int64_t>(l), h, batch);
      if (tokens.defined()) {
        IAPT_CHECK(tokens.dim() == 3 && tokens.size(0) == b && tokens.size(2) == h.size(2),
                   "llama forward: inserted tokens {} for hidden states {}", shape_str(tokens.shape()),
                   shape_str(h.shape()));
        h = concat({tokens, h}, 1);
        positions = prepend_positions(tokens.size(1), positions);
        inserted += tokens.size(1);
      }
      prefix = in.hooks->layer_prefix(static_cast<int64_t>(l), h, batch, *layer.input_layernorm, *layer.self_attn);
    }
    a.positions = positions;
    a.prefix = prefix.defined() ? &prefix : nullptr;
    a.leading_tokens = inserted;
    // key positions in front of the text: this layer's prefix and the inserted tokens, given now,
    // or stored in the cache at prefill
    const int64_t lead = prefill ? (a.prefix ? a.prefix->length() : 0) + inserted : a.cache->prefix;
    if (in.attention_mask || lead > 0) {
      Tensor text = in.attention_mask ? *in.attention_mask : ones({b, cached + t}, DType::I64);
      IAPT_CHECK(text.dim() == 2 && text.size(0) == b, "llama forward: attention_mask {} for a batch of {}",
                 shape_str(text.shape()), b);
      a.key_mask = lead > 0 ? ops::concat({ones({b, lead}, text.dtype(), text.device()), text}, 1) : text;
    }
    h = layer.forward(h, a, in.hooks, static_cast<int64_t>(l));
  }
  if (inserted > 0) h = narrow(h, 1, inserted, t);  // the inserted tokens' outputs are not predictions
  return model->norm->forward(h);
}

}  // namespace iapt::models
