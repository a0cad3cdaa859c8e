#pragma once
// The backend dispatch table. A backend is a table of kernels, one entry per op; adding an op to
// the CUDA backend means writing one kernel and filling one entry. Kernels receive outputs
// already allocated with their final shape; inputs of elementwise kernels arrive broadcast
// (expanded) to the output's shape, so kernels never re-derive broadcasting.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace iapt {

enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Tanh, Sigmoid, Relu, GeluErf, GeluTanh, Silu,
  Pow,        // x^param
  AddScalar,  // x + param
  MulScalar,  // x * param
};
enum class BinaryOp { Add, Sub, Mul, Div, Eq, Lt, Gt };
enum class ReduceOp { Sum, Max };
// Denominator safeguards of the rational activation (kernels/rational_math.h has the formulas).
enum class RationalVersion { A, B, C, N };

struct Backend {
  const char* name;
  // Device memory. `rounded` receives the size actually reserved (the allocator's bucket).
  void* (*allocate)(size_t bytes, size_t* rounded);
  void (*release)(void* ptr, size_t rounded);
  // Copies between the host and this backend's device (either direction, as the tensors' devices
  // say); both contiguous, of one dtype and shape. Returns when dst may be read.
  void (*transfer)(const Tensor& src, const Tensor& dst);
  // Waits for every queued kernel (a no-op on the CPU); benchmarks time with it.
  void (*synchronize)();
  // dst <- src (src expanded to dst's shape; casts between dtypes)
  void (*copy)(const Tensor& src, const Tensor& dst);
  void (*fill)(const Tensor& dst, double value);
  void (*unary)(UnaryOp op, const Tensor& x, double param, const Tensor& out);
  // grad_in = grad_out * f'(x); y = f(x) is passed for ops whose derivative reads it
  void (*unary_backward)(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, double param,
                         const Tensor& grad_in);
  void (*binary)(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
  void (*where)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
  // rows: dense [outer, inner]; out: dense, outer elements (out[r] reduces row r)
  void (*reduce)(ReduceOp op, const Tensor& rows, const Tensor& out);
  // out[..., M, N] = op(a)[..., M, K] @ op(b)[..., K, N]; a and b expanded to out's batch shape
  void (*gemm)(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& out);
  void (*softmax)(const Tensor& x, int64_t axis, bool log, const Tensor& out);
  void (*softmax_backward)(const Tensor& y, const Tensor& grad_out, int64_t axis, bool log, const Tensor& grad_in);
  // logits [N, C], targets i64 [N]; loss [] = mean over counted rows; lse [N] saved for backward
  void (*cross_entropy)(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& loss,
                        const Tensor& lse);
  void (*cross_entropy_backward)(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                                 int64_t ignore_index, const Tensor& grad_loss, const Tensor& grad_logits);
  // weight [V, D], ids i64 [...] -> out [..., D]; backward accumulates into grad_weight
  void (*embedding)(const Tensor& weight, const Tensor& ids, const Tensor& out);
  void (*embedding_backward)(const Tensor& ids, const Tensor& grad_out, const Tensor& grad_weight);
  // x [..., D], weight [D] -> out [..., D], rstd [rows]; backward: grad_weight may be undefined
  void (*rms_norm)(const Tensor& x, const Tensor& weight, double eps, const Tensor& out, const Tensor& rstd);
  void (*rms_norm_backward)(const Tensor& x, const Tensor& weight, const Tensor& rstd, const Tensor& grad_out,
                            const Tensor& grad_x, const Tensor& grad_weight);
  void (*layer_norm)(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
                     const Tensor& mean, const Tensor& rstd);
  void (*layer_norm_backward)(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                              const Tensor& grad_out, const Tensor& grad_x, const Tensor& grad_weight,
                              const Tensor& grad_bias);
  // x [B, H, T, D], positions i64 [T] or [B, T]; inverse rotates by -angle (the backward)
  void (*rope)(const Tensor& x, const Tensor& positions, double theta, bool inverse, const Tensor& out);
  // y = P(x) / Q(x) elementwise; numerator [m + 1], denominator [n]; x and out dense
  void (*rational)(const Tensor& x, const Tensor& numerator, const Tensor& denominator, RationalVersion version,
                   const Tensor& out);
  // grad_x like x; grad_numerator and grad_denominator are sums over every element (either may be
  // undefined: not wanted), computed in a fixed order so that they are reproducible
  void (*rational_backward)(const Tensor& x, const Tensor& numerator, const Tensor& denominator,
                            RationalVersion version, const Tensor& grad_out, const Tensor& grad_x,
                            const Tensor& grad_numerator, const Tensor& grad_denominator);
  void (*uniform)(const Tensor& out, uint64_t seed, uint64_t offset);
  void (*normal)(const Tensor& out, uint64_t seed, uint64_t offset);
  // One Adam/AdamW step in place on dense p, m, v from dense g (c1, c2: the bias corrections; decay
  // added to the gradient, or, decoupled, to the update); null where the optimizer composes it.
  void (*adam_step)(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1,
                    double beta2, double eps, double weight_decay, bool decoupled, double c1, double c2);
  // out = silu(gate) * up, and its backward (both inputs dense, one shape); null where the backend
  // composes it from unary and binary ops.
  void (*swiglu)(const Tensor& gate, const Tensor& up, const Tensor& out);
  void (*swiglu_backward)(const Tensor& gate, const Tensor& up, const Tensor& grad_out, const Tensor& grad_gate,
                          const Tensor& grad_up);
  // Fused attention, or null where the backend composes it from the ops above. q [B, H, T, D],
  // k and v [B, Hkv, S, D] with H a multiple of Hkv (query head h reads key/value head h / (H / Hkv));
  // query i stands at position S - T + i and, with `causal`, sees keys j <= S - T + i; key_mask
  // [B, S] (nonzero: visible) or undefined. q, k, v, out and grad_q may be strided views with unit
  // stride on D; probs [B, H, T, S], grad_k and grad_v are dense. probs is written for the backward.
  void (*attention)(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                    double scale, const Tensor& out, const Tensor& probs);
  // (the mask again: a row that sees no key passes no gradient to its scores)
  void (*attention_backward)(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                             const Tensor& probs, const Tensor& grad_out, double scale, const Tensor& grad_q,
                             const Tensor& grad_k, const Tensor& grad_v);
};

// The table for a device; throws if that backend is not compiled in.
const Backend& backend_for(Device device);
// Compiled in and, for CUDA, at least one GPU visible.
bool device_available(Device device);
bool cuda_compiled();
// The threads the CPU backend runs on (OpenMP's, shared with BLAS; OMP_NUM_THREADS sets them).
int cpu_threads();

}  // namespace iapt
