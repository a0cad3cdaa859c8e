#pragma once
// Multi-head attention of the LLaMA architecture: RoPE on queries and keys, grouped key/value
// heads, causal and padding masks, a KV cache for generation, and per-layer key/value prefixes
// (docs/design.md, IAPT and Baselines: IAPT and P-tuning v2 insert their soft tokens as such prefixes).
#include <optional>

#include "nn/linear.h"

namespace iapt::nn {

// One layer's cached keys (already rotated) and values, [B, Hkv, S, hd]; grows by concatenation.
// The first `prefix` positions are the layer's key/value prefix, stored at prefill.
struct LayerKV {
  Tensor k, v;
  int64_t prefix = 0;
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
  int64_t text_length() const { return length() - prefix; }
};

// Keys (already rotated) and values of p prefix positions per batch row, [B, Hkv, p, hd].
// Variables, so that gradients reach whatever generated them.
struct KVPrefix {
  Variable k, v;
  // [1], optional: zero-init gating (as in LLaMA-Adapter). The prefix then gets a softmax of its
  // own, scaled by tanh(gate) and added to the text's attention, which no longer shares its mass
  // with the prefix: at gate 0 the layer is exactly the frozen one. Training and scoring only (no cache).
  Variable gate{};
  bool defined() const { return k.defined(); }
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
};

struct AttentionInputs {
  Tensor positions;                 // i64 [B, T] or [T]: the RoPE position of each query token
  std::optional<Tensor> key_mask;   // [B, S] over prefix + cached + current keys, nonzero = real token
  LayerKV* cache = nullptr;         // read, then extended with this call's keys and values
  const KVPrefix* prefix = nullptr;  // seen by every query; stored into the cache when there is one
  int64_t leading_tokens = 0;        // inserted prompt tokens at the front of the queries: cached as prefix
};

class LlamaAttention : public Module {
 public:
  // `dtype`: the projections' weights (16-bit ones stay frozen; activations are f32 whatever it is)
  LlamaAttention(int64_t hidden, int64_t heads, int64_t kv_heads, double rope_theta, DType dtype = DType::F32);
  // x [B, T, hidden] -> [B, T, hidden]
  Variable forward(const Variable& x, const AttentionInputs& in) const;
  // The rotated key and the value of hidden states h [B, T, hidden] at `positions`, as this layer
  // computes them: [B, Hkv, T, hd] each. Prefix generators call this with the layer's own weights.
  std::pair<Variable, Variable> keys_values(const Variable& h, const Tensor& positions) const;

  std::shared_ptr<Linear> q_proj, k_proj, v_proj, o_proj;
  int64_t heads, kv_heads, head_dim;
  double rope_theta;
};

}  // namespace iapt::nn
