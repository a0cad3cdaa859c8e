#pragma once
// Differentiable functions on Variables. Each forward is a core op; each backward, next to it in
// functions.cpp, is written with core ops too, so it runs on every backend.
#include <optional>
#include <vector>

#include "autograd/variable.h"
#include "core/backend.h"
#include "core/rng.h"

namespace iapt {

// --- dtypes ---
// The same values in another dtype; the gradient comes back in x's dtype.
Variable cast(const Variable& x, DType dtype);
// Where 16-bit activations (a backbone computed in bf16 or f16) meet an f32 operand (a trainable
// parameter, a method's output), the functions below round the f32 side to the activations' dtype,
// as autocast does, and its gradient reaches it in f32. The one exception is matmul of f32 (or
// f64) activations with a frozen 2-D 16-bit weight, which computes in the activations' dtype.

// --- elementwise, with broadcasting ---
Variable add(const Variable& a, const Variable& b);
Variable sub(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);
Variable div(const Variable& a, const Variable& b);
Variable add_scalar(const Variable& x, double s);
Variable mul_scalar(const Variable& x, double s);
Variable neg(const Variable& x);
Variable exp(const Variable& x);
Variable log(const Variable& x);
Variable sqrt(const Variable& x);
Variable rsqrt(const Variable& x);
Variable pow(const Variable& x, double exponent);
Variable abs(const Variable& x);
Variable sign(const Variable& x);
Variable tanh(const Variable& x);
Variable sigmoid(const Variable& x);
Variable relu(const Variable& x);
enum class GeluApprox { Erf, Tanh };
Variable gelu(const Variable& x, GeluApprox approx = GeluApprox::Erf);
Variable silu(const Variable& x);

inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& x) { return neg(x); }
inline Variable operator*(const Variable& x, double s) { return mul_scalar(x, s); }
inline Variable operator+(const Variable& x, double s) { return add_scalar(x, s); }

// --- reductions over axes (empty = all) ---
Variable sum(const Variable& x, std::vector<int64_t> axes = {}, bool keepdim = false);
// The mean over no elements is 0 (PyTorch: NaN).
Variable mean(const Variable& x, std::vector<int64_t> axes = {}, bool keepdim = false);
// The gradient is shared equally among tied maxima.
Variable amax(const Variable& x, std::vector<int64_t> axes = {}, bool keepdim = false);

Variable softmax(const Variable& x, int64_t axis);
Variable log_softmax(const Variable& x, int64_t axis);

// op(a)[..., M, K] @ op(b)[..., K, N], batch axes broadcast; op transposes the last two axes.
Variable matmul(const Variable& a, const Variable& b, bool trans_a = false, bool trans_b = false);

// logits [N, C], targets i64 [N]; the mean over rows whose target is not ignore_index. Where every
// target is ignored the loss is 0 with a zero gradient (PyTorch gives NaN), so a batch of pure
// padding does not poison a run.
Variable cross_entropy(const Variable& logits, const Tensor& targets, int64_t ignore_index = -100);
// weight [V, D], ids i64 [...] -> [..., D]
Variable embedding(const Variable& weight, const Tensor& ids);

// --- views and assembly ---
Variable reshape(const Variable& x, Shape shape);
Variable transpose(const Variable& x, int64_t a, int64_t b);
Variable permute(const Variable& x, const std::vector<int64_t>& order);
Variable narrow(const Variable& x, int64_t axis, int64_t start, int64_t length);
Variable expand(const Variable& x, const Shape& shape);
Variable unsqueeze(const Variable& x, int64_t axis);
Variable squeeze(const Variable& x, int64_t axis);
Variable concat(const std::vector<Variable>& parts, int64_t axis);
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t axis);
Variable stack(const std::vector<Variable>& parts, int64_t axis);

// cond: any dtype, nonzero selects a; cond, a and b broadcast together.
Variable where(const Tensor& cond, const Variable& a, const Variable& b);
// mask (nonzero = fill) broadcasts to x's shape.
Variable masked_fill(const Variable& x, const Tensor& mask, double value);

// --- fused layers ---
Variable rms_norm(const Variable& x, const Variable& weight, double eps);
Variable layer_norm(const Variable& x, const Variable& weight, const Variable& bias, double eps);
// x [B, H, T, D]; positions i64 [T] or [B, T]
Variable rope(const Variable& x, const Tensor& positions, double theta);

// Attention as a composition: q [B, H, T, D], k and v [B, H, S, D]. Masked scores are set to the
// lowest f32 value before the softmax (as Hugging Face does), so a fully masked row attends
// uniformly rather than producing NaN. key_padding_mask: [B, S], nonzero = a real token.
Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v, bool causal,
                                      const std::optional<Tensor>& key_padding_mask = std::nullopt);

// silu(gate) * up, the LLaMA MLP's gate, in one pass each way where the backend has the kernel.
Variable swiglu(const Variable& gate, const Variable& up);

// Grouped-query attention: q [B, H, T, D], k and v [B, Hkv, S, D] with H a multiple of Hkv, query
// head h reading key/value head h / (H / Hkv); the queries are the last T of the S positions
// (causal: query i sees keys up to S - T + i). One fused kernel where the backend has it (the
// probabilities [B, H, T, S] are the only thing of that size it keeps), else the composition
// above over repeated key/value heads; both give the same values and gradients.
Variable attention(const Variable& q, const Variable& k, const Variable& v, bool causal,
                   const std::optional<Tensor>& key_padding_mask = std::nullopt);

// The rational activation P(x) / Q(x) elementwise (kernels/rational_math.h), with gradients for
// x and for both coefficient vectors.
Variable rational(const Variable& x, const Variable& numerator, const Variable& denominator, RationalVersion version);

// Zeroes each element with probability p and scales the rest by 1/(1-p); the mask is drawn from
// the generator's counters, so one seed gives one mask.
Variable dropout(const Variable& x, double p, bool training, Generator& gen = default_generator());

}  // namespace iapt
