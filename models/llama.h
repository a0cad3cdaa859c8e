#pragma once
// The LLaMA decoder (LLaMA-2, TinyLlama, SmolLM and our small models): pre-norm layers of RoPE
// attention with grouped key/value heads and a SwiGLU MLP, under Hugging Face's parameter names.
#include <optional>
#include <string>
#include <vector>

#include "models/llama_config.h"
#include "nn/attention.h"
#include "nn/hooks.h"

namespace iapt::models {

// The backbone's dtypes. `weights`: the projection and embedding matrices, which may be 16-bit
// (BF16, F16: half the memory of f32; frozen then). `compute`: the norms' weights, activations and
// everything trained (f32 or f64).
struct Precision {
  DType compute = DType::F32;  // the norms' weights, and the parameters a method attaches
  DType weights = DType::F32;  // the projections and the embedding table
  // With 16-bit weights, keep the activations in the weights' dtype too (a run's `compute: bf16`):
  // each op computes in f32 and rounds its result, halving the activations' memory.
  bool activations_in_weights_dtype = false;
  DType activations() const { return activations_in_weights_dtype ? weights : compute; }
};

// The weights' dtype a config or an option names: "f32", "bf16" or "f16".
DType weights_dtype(const std::string& name);
// The precision named by a config or command line: the weights' dtype and the activations' ("f32",
// or the weights' own 16-bit dtype). An error otherwise, naming both settings as given:
// `compute_key` and `weights_key` are what precede each value in it ("--compute ", "dtype: ").
Precision precision_of(const std::string& weights, const std::string& compute, const std::string& weights_key,
                       const std::string& compute_key);

class LlamaMLP : public nn::Module {
 public:
  LlamaMLP(int64_t hidden, int64_t intermediate, DType weights);
  // down(silu(gate(x)) * up(x)), x [..., hidden]
  Variable forward(const Variable& x) const;
  std::shared_ptr<nn::Linear> gate_proj, up_proj, down_proj;
};

class LlamaDecoderLayer : public nn::Module {
 public:
  LlamaDecoderLayer(const LlamaConfig& c, Precision precision);
  // h + attn(norm(h)), then + mlp(norm(.)); h [B, T, hidden]. `hooks` may adapt each sublayer's
  // output (adapters); `index` is this layer's number.
  Variable forward(const Variable& h, const nn::AttentionInputs& in, nn::ForwardHooks* hooks = nullptr,
                   int64_t index = 0) const;
  std::shared_ptr<nn::RMSNorm> input_layernorm, post_attention_layernorm;
  std::shared_ptr<nn::LlamaAttention> self_attn;
  std::shared_ptr<LlamaMLP> mlp;
};

struct KVCache {
  std::vector<nn::LayerKV> layers;
  // Text tokens cached so far (every layer caches the same text; prefixes differ per layer).
  int64_t text_length() const { return layers.empty() ? 0 : layers[0].text_length(); }
};

// What a forward pass may take besides the tokens. Defaults: positions 0..T-1, no padding.
struct ForwardInputs {
  std::optional<Tensor> attention_mask;        // [B, T_total] over cached + current text tokens, 1 = real
  std::optional<Tensor> positions;             // i64 [B, T] or [T] (default: after the cached text)
  KVCache* cache = nullptr;
  nn::ForwardHooks* hooks = nullptr;           // a PEFT method's prefixes and position offset
  nn::BatchInputs batch;                       // what the hooks read of the batch (the instruction mask)
};

class LlamaModel : public nn::Module {
 public:
  LlamaModel(const LlamaConfig& c, Precision precision);
  std::shared_ptr<nn::Embedding> embed_tokens;
  std::vector<std::shared_ptr<LlamaDecoderLayer>> layers;
  std::shared_ptr<nn::RMSNorm> norm;
};

class LlamaForCausalLM : public nn::Module {
 public:
  explicit LlamaForCausalLM(const LlamaConfig& c, DType dtype = DType::F32)
      : LlamaForCausalLM(c, Precision{dtype, dtype}) {}
  LlamaForCausalLM(const LlamaConfig& c, Precision precision);

  // ids i64 [B, T] -> logits [B, T, vocab]
  Variable forward(const Tensor& ids, const ForwardInputs& in = {}) const;
  // The same from input embeddings [B, T, hidden] (what a prompt-tuning method edits).
  Variable forward_embeds(const Variable& embeds, const ForwardInputs& in = {}) const;
  // The final normed hidden states [B, T, hidden], before the output projection: a loss that needs
  // a few positions projects only those (logits_of).
  Variable hidden_states(const Tensor& ids, const ForwardInputs& in = {}) const;
  // [..., hidden] -> [..., vocab]
  Variable logits_of(const Variable& hidden) const;
  // The output projection [vocab, hidden]: lm_head, or the input embeddings when tied.
  Variable lm_head_weight() const;

  LlamaConfig config;
  Precision precision;  // what a method attached to this model makes its parameters in: precision.compute
  std::shared_ptr<LlamaModel> model;
  std::shared_ptr<nn::Linear> lm_head;  // null when tied to the input embeddings

 private:
  Variable hidden_states_of(const Variable& embeds, const ForwardInputs& in) const;
};

}  // namespace iapt::models
