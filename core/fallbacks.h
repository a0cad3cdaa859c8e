#pragma once
// The compositions that run where a backend leaves a fused kernel of core/backend_kernels.inc
// null (IAPT_FUSED_KERNEL): each is the fused kernel's contract written with the kernels every
// backend has, forward and backward alike. The ops in core/ops.h choose between the two; nothing
// else calls these except the tests that hold each composition to its fused kernel.
#include <utility>

#include "core/ops.h"

namespace iapt::fallback {

// silu(gate) * up, and its backward: (d gate, d up).
Tensor swiglu(const Tensor& gate, const Tensor& up);
std::pair<Tensor, Tensor> swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& grad_out);

// Grouped-query attention over key/value heads repeated to the query heads: scores q k^T * scale,
// blocked keys set to the lowest f32 value, softmax, times v. Layout and masks as the fused kernel
// (core/backend_kernels.inc); out [B, H, T, D] and probs [B, H, T, S] are dense. The backward passes
// no gradient to blocked scores, so a row that sees no key passes none at all.
ops::AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                               double scale);
ops::AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask,
                                       bool causal, const Tensor& probs, const Tensor& grad_out, double scale);

// [B, 1, T, S], nonzero where query i of q [B, H, T, D] may not see key j of S (causal: keys after
// it; key_mask [B, S]: zeros); undefined when every key is visible. The queries are the last T of
// the S positions. Also the mask of autograd's scaled_dot_product_attention.
Tensor blocked_keys(const Tensor& q, const Tensor& key_mask, bool causal, int64_t s);

// op(a) @ op(w) for a 16-bit 2-D w: w converted to a's dtype whole, then the backend's GEMM.
Tensor gemm_16bit(const Tensor& a, const Tensor& w, bool trans_a, bool trans_w);

// One Adam/AdamW step, writing p, m and v in place (any layout).
void adam_step(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled, double c1, double c2);

}  // namespace iapt::fallback
