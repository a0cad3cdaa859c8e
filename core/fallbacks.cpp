#include "core/fallbacks.h"

#include <limits>

#include "core/error.h"

namespace iapt::fallback {

Tensor swiglu(const Tensor& gate, const Tensor& up) { return ops::mul(ops::unary(UnaryOp::Silu, gate), up); }

std::pair<Tensor, Tensor> swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& grad_out) {
  Tensor s = ops::unary(UnaryOp::Silu, gate);
  return {ops::unary_backward(UnaryOp::Silu, gate, s, ops::mul(grad_out, up)), ops::mul(grad_out, s)};
}

Tensor gemm_16bit(const Tensor& a, const Tensor& w, bool trans_a, bool trans_w) {
  return ops::matmul(a, w.to(a.dtype()), trans_a, trans_w);
}

namespace {

// [B, Hkv, S, D] -> [B, Hkv * group, S, D], head h reading key/value head h / group.
Tensor repeat_heads(const Tensor& x, int64_t group) {
  if (group == 1) return x;
  const int64_t b = x.size(0), h = x.size(1), s = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, h, group, s, d}).contiguous().reshape({b, h * group, s, d});
}

// The gradient of repeat_heads: [B, H, S, D] -> [B, H / group, S, D], summed over each group.
Tensor sum_heads(const Tensor& x, int64_t group) {
  if (group == 1) return x;
  const int64_t b = x.size(0), h = x.size(1), s = x.size(2), d = x.size(3);
  return ops::sum(x.reshape({b, h / group, group, s, d}), {2});
}

}  // namespace

Tensor blocked_keys(const Tensor& q, const Tensor& key_mask, bool causal, int64_t s) {
  const int64_t b = q.size(0), t = q.size(2);
  if (!causal && !key_mask.defined()) return Tensor();
  const Device device = q.device();
  Tensor blocked = zeros({b, 1, t, s}, q.dtype(), device);
  if (causal) {
    Tensor qi = arange(static_cast<double>(s - t), static_cast<double>(s), 1.0, q.dtype()).reshape({t, 1}).to(device);
    Tensor kj = arange(s, q.dtype()).reshape({1, s}).to(device);
    blocked = ops::add(blocked, ops::gt(kj, qi));
  }
  if (key_mask.defined()) {
    IAPT_CHECK(key_mask.dim() == 2 && key_mask.size(0) == b && key_mask.size(1) == s,
               "attention: key padding mask {} must be [{}, {}]", shape_str(key_mask.shape()), b, s);
    Tensor hidden = ops::eq(key_mask.to(device).to(q.dtype()), zeros({}, q.dtype(), device)).reshape({b, 1, 1, s});
    blocked = ops::add(blocked, hidden);
  }
  return blocked;
}

ops::AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                               double scale) {
  const int64_t group = q.size(1) / k.size(1);
  const Tensor kr = repeat_heads(k, group), vr = repeat_heads(v, group);  // [B, H, S, D]
  Tensor scores = ops::mul_scalar(ops::matmul(q, kr, false, true), scale);  // [B, H, T, S]
  const Tensor blocked = blocked_keys(q, key_mask, causal, k.size(2));
  if (blocked.defined())
    scores = ops::where(blocked, full({}, static_cast<double>(std::numeric_limits<float>::lowest()), q.dtype(), q.device()),
                        scores);
  ops::AttentionResult r;
  r.probs = ops::softmax(scores, -1);
  r.out = ops::matmul(r.probs, vr);  // [B, H, T, D]
  return r;
}

ops::AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask,
                                       bool causal, const Tensor& probs, const Tensor& grad_out, double scale) {
  const int64_t group = q.size(1) / k.size(1);
  const Tensor kr = repeat_heads(k, group), vr = repeat_heads(v, group);  // [B, H, S, D]
  Tensor grad_scores = ops::softmax_backward(probs, ops::matmul(grad_out, vr, false, true), -1);  // [B, H, T, S]
  const Tensor blocked = blocked_keys(q, key_mask, causal, k.size(2));
  if (blocked.defined()) grad_scores = ops::where(blocked, zeros({}, q.dtype(), q.device()), grad_scores);
  ops::AttentionGrads g;
  g.q = ops::mul_scalar(ops::matmul(grad_scores, kr), scale);                                  // [B, H, T, D]
  g.k = sum_heads(ops::mul_scalar(ops::matmul(grad_scores, q, true, false), scale), group);   // [B, Hkv, S, D]
  g.v = sum_heads(ops::matmul(probs, grad_out, true, false), group);                          // [B, Hkv, S, D]
  return g;
}

void adam_step(const Tensor& p, const Tensor& g_in, const Tensor& m, const Tensor& v, double lr, double beta1,
               double beta2, double eps, double weight_decay, bool decoupled, double c1, double c2) {
  const Tensor g = (!decoupled && weight_decay != 0.0) ? ops::add(g_in, ops::mul_scalar(p, weight_decay)) : g_in;
  m.copy_(ops::add(ops::mul_scalar(m, beta1), ops::mul_scalar(g, 1.0 - beta1)));
  v.copy_(ops::add(ops::mul_scalar(v, beta2), ops::mul_scalar(ops::mul(g, g), 1.0 - beta2)));
  Tensor denom = ops::add_scalar(ops::unary(UnaryOp::Sqrt, ops::mul_scalar(v, 1.0 / c2)), eps);
  Tensor update = ops::div(ops::mul_scalar(m, 1.0 / c1), denom);
  if (decoupled && weight_decay != 0.0) update = ops::add(update, ops::mul_scalar(p, weight_decay));
  p.copy_(ops::sub(p, ops::mul_scalar(update, lr)));
}

}  // namespace iapt::fallback
