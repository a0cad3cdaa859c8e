#include "nn/attention.h"

#include <cmath>

#include "core/error.h"

namespace iapt::nn {

LlamaAttention::LlamaAttention(int64_t hidden, int64_t heads_, int64_t kv_heads_, double theta, DType dtype)
    : heads(heads_), kv_heads(kv_heads_), head_dim(hidden / heads_), rope_theta(theta) {
  IAPT_CHECK(hidden % heads == 0 && heads % kv_heads == 0,
             "attention: hidden {} must divide into {} heads, and heads into {} key/value heads", hidden, heads,
             kv_heads);
  q_proj = register_module("q_proj", std::make_shared<Linear>(hidden, heads * head_dim, false, dtype));
  k_proj = register_module("k_proj", std::make_shared<Linear>(hidden, kv_heads * head_dim, false, dtype));
  v_proj = register_module("v_proj", std::make_shared<Linear>(hidden, kv_heads * head_dim, false, dtype));
  o_proj = register_module("o_proj", std::make_shared<Linear>(heads * head_dim, hidden, false, dtype));
}

namespace {
// [B, T, n * hd] -> [B, n, T, hd]
Variable split_heads(const Variable& x, int64_t n, int64_t hd) {
  return transpose(reshape(x, {x.size(0), x.size(1), n, hd}), 1, 2);
}
// Every query over the p prefix keys alone: q [B, H, T, hd], k and v [B, Hkv, p, hd] -> [B, H, T, hd].
// Each group of H / Hkv query heads shares its key/value head, so the group's queries are stacked
// as rows of one product: [B, Hkv, (H / Hkv) T, hd].
Variable prefix_attention(const Variable& q, const Variable& k, const Variable& v) {
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), hd = q.size(3), hkv = k.size(1);
  Variable rows = reshape(q, {b, hkv, (h / hkv) * t, hd});
  Variable scores = mul_scalar(matmul(rows, k, false, true), 1.0 / std::sqrt(static_cast<double>(hd)));  // [B, Hkv, G T, p]
  return reshape(matmul(softmax(scores, -1), v), {b, h, t, hd});
}

}  // namespace

std::pair<Variable, Variable> LlamaAttention::keys_values(const Variable& h, const Tensor& positions) const {
  Variable k = rope(split_heads(k_proj->forward(h), kv_heads, head_dim), positions, rope_theta);
  Variable v = split_heads(v_proj->forward(h), kv_heads, head_dim);
  return {k, v};
}

Variable LlamaAttention::forward(const Variable& x, const AttentionInputs& in) const {
  const int64_t b = x.size(0), t = x.size(1);
  Variable q = rope(split_heads(q_proj->forward(x), heads, head_dim), in.positions, rope_theta);  // [B, H, T, hd]
  auto [k, v] = keys_values(x, in.positions);                                                     // [B, Hkv, T, hd]
  std::vector<Variable> ks, vs;
  const bool prefill = in.cache && in.cache->length() == 0;
  if (prefill) in.cache->prefix = in.leading_tokens + (in.prefix && in.prefix->defined() ? in.prefix->length() : 0);
  const bool gated = in.prefix && in.prefix->defined() && in.prefix->gate.defined();
  IAPT_CHECK(!gated || !in.cache, "attention: a gated prefix is for training and scoring; generation from a cache "
                                  "does not support it");
  if (in.prefix && in.prefix->defined() && !gated) {
    IAPT_CHECK(!in.cache || prefill, "attention: a prefix is given once, at prefill, when the cache is still empty");
    IAPT_CHECK(in.prefix->k.size(0) == b && in.prefix->k.size(1) == kv_heads && in.prefix->k.size(3) == head_dim,
               "attention: prefix keys {} do not fit [{}, {}, p, {}]", shape_str(in.prefix->k.shape()), b, kv_heads,
               head_dim);
    ks.push_back(in.prefix->k);
    vs.push_back(in.prefix->v);
  }
  if (in.cache && in.cache->length() > 0) {
    ks.emplace_back(in.cache->k);
    vs.emplace_back(in.cache->v);
  }
  ks.push_back(k);
  vs.push_back(v);
  Variable k_all = ks.size() == 1 ? k : concat(ks, 2);  // [B, Hkv, S, hd]
  Variable v_all = vs.size() == 1 ? v : concat(vs, 2);
  if (in.cache) {
    in.cache->k = k_all.data();
    in.cache->v = v_all.data();
  }
  Variable att;  // [B, H, T, hd]
  if (gated) {
    // the text's attention without the prefix's keys, then the prefix's own [B, H, T, p] softmax
    const int64_t p = in.prefix->length();
    std::optional<Tensor> text_mask;
    if (in.key_mask) text_mask = in.key_mask->narrow(1, p, in.key_mask->size(1) - p);
    Variable prefix_att = prefix_attention(q, in.prefix->k, in.prefix->v);
    att = add(attention(q, k_all, v_all, /*causal=*/true, text_mask),
              mul(prefix_att, reshape(tanh(in.prefix->gate), {1, 1, 1, 1})));
  } else {
    att = attention(q, k_all, v_all, /*causal=*/true, in.key_mask);
  }
  return o_proj->forward(reshape(transpose(att, 1, 2), {b, t, heads * head_dim}));
}

}  // namespace iapt::nn
