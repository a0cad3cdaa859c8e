#pragma once
// Tensor ops without autograd: shape checks, output allocation, dispatch to the device's backend.
// Autograd's differentiable functions and their backward passes are written with these, so a
// backward runs on every backend without being written twice. On bf16 and f16 tensors (16-bit
// activations) every op computes in f32 and rounds its result once to the inputs' dtype; the
// operands of one op share a dtype (autograd casts where they would not).
#include <atomic>
#include <vector>

#include "core/backend.h"
#include "core/tensor.h"

namespace iapt::ops {

// Elementwise with NumPy broadcasting.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);  // 1 where equal, else 0, in a's dtype
Tensor lt(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
Tensor unary(UnaryOp op, const Tensor& x, double param = 0.0);
Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, double param = 0.0);
// out = cond != 0 ? a : b, all three broadcast together
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Reductions over `axes` (empty = all axes).
Tensor sum(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdim = false);
Tensor amax(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdim = false);
// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// op(a)[..., M, K] @ op(b)[..., K, N] with broadcast batch axes; op = transpose of the last two.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

Tensor softmax(const Tensor& x, int64_t axis, bool log = false);
Tensor softmax_backward(const Tensor& y, const Tensor& grad_out, int64_t axis, bool log = false);

struct CrossEntropyResult {
  Tensor loss;  // []
  Tensor lse;   // [N] log-sum-exp of each row
};
CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index);
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse, int64_t ignore_index,
                              const Tensor& grad_loss);

Tensor embedding(const Tensor& weight, const Tensor& ids);
Tensor embedding_backward(const Tensor& ids, const Tensor& grad_out, int64_t vocab_size);

struct NormResult {
  Tensor out, mean, rstd;  // mean is undefined for RMSNorm
};
NormResult rms_norm(const Tensor& x, const Tensor& weight, double eps);
// Returns {grad_x, grad_weight}; grad_weight is skipped (undefined) unless wanted.
std::pair<Tensor, Tensor> rms_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& rstd,
                                            const Tensor& grad_out, bool want_weight_grad);
NormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
struct LayerNormGrads {
  Tensor x, weight, bias;
};
LayerNormGrads layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& grad_out, bool want_weight_grads);

Tensor rope(const Tensor& x, const Tensor& positions, double theta, bool inverse = false);

Tensor concat(const std::vector<Tensor>& parts, int64_t axis);

// The rational activation P(x)/Q(x) (kernels/rational_math.h); numerator [m+1], denominator [n].
Tensor rational(const Tensor& x, const Tensor& numerator, const Tensor& denominator, RationalVersion version);
struct RationalGrads {
  Tensor x, numerator, denominator;  // each undefined unless wanted
};
RationalGrads rational_backward(const Tensor& x, const Tensor& numerator, const Tensor& denominator,
                                RationalVersion version, const Tensor& grad_out, bool want_x, bool want_coefficients);

// silu(gate) * up in one kernel where the backend has one, else composed; and its backward.
Tensor swiglu(const Tensor& gate, const Tensor& up);
std::pair<Tensor, Tensor> swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& grad_out);

// Attention in one fused kernel where the backend has it (core/backend_kernels.inc states the
// layout), else composed (core/fallbacks.h); has_fused_attention says which.
bool has_fused_attention(Device device);
struct AttentionResult {
  Tensor out;    // [B, H, T, D], a view of a [B, T, H, D] buffer: transposing back costs nothing
  Tensor probs;  // [B, H, T, S]
};
AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                          double scale);
struct AttentionGrads {
  Tensor q, k, v;
};
AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                                  const Tensor& probs, const Tensor& grad_out, double scale);

// One Adam/AdamW step in place on p and its moments m and v (c1, c2: the bias corrections; decay
// added to the gradient, or, decoupled, to the update): the backend's fused kernel where it has
// one and the tensors are dense, else the composition.
void adam_step(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled, double c1, double c2);

// Running totals of kernel launches, for tests that prove work was skipped.
struct OpCounters {
  std::atomic<int64_t> gemm{0};
};
OpCounters& op_counters();

}  // namespace iapt::ops
