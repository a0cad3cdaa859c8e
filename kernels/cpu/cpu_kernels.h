#pragma once
// Declarations of the CPU kernels that fill the CPU backend table (cpu_backend.cpp).
#include "core/backend.h"

namespace iapt::kernels::cpu {

void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, const Tensor& x, double param, const Tensor& out);
void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, double param,
                    const Tensor& grad_in);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void uniform(const Tensor& out, uint64_t seed, uint64_t offset);
void normal(const Tensor& out, uint64_t seed, uint64_t offset);
void reduce(ReduceOp op, const Tensor& rows, const Tensor& out);
void gemm(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor& out);
void softmax(const Tensor& x, int64_t axis, bool log, const Tensor& out);
void softmax_backward(const Tensor& y, const Tensor& grad_out, int64_t axis, bool log, const Tensor& grad_in);
void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& loss,
                   const Tensor& lse);
void cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse, int64_t ignore_index,
                            const Tensor& grad_loss, const Tensor& grad_logits);
void embedding(const Tensor& weight, const Tensor& ids, const Tensor& out);
void embedding_backward(const Tensor& ids, const Tensor& grad_out, const Tensor& grad_weight);
void rms_norm(const Tensor& x, const Tensor& weight, double eps, const Tensor& out, const Tensor& rstd);
void rms_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& rstd, const Tensor& grad_out,
                       const Tensor& grad_x, const Tensor& grad_weight);
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
                const Tensor& mean, const Tensor& rstd);
void layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                         const Tensor& grad_out, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias);
void rope(const Tensor& x, const Tensor& positions, double theta, bool inverse, const Tensor& out);
void rational(const Tensor& x, const Tensor& numerator, const Tensor& denominator, RationalVersion version,
              const Tensor& out);
void rational_backward(const Tensor& x, const Tensor& numerator, const Tensor& denominator, RationalVersion version,
                       const Tensor& grad_out, const Tensor& grad_x, const Tensor& grad_numerator,
                       const Tensor& grad_denominator);

void adam_step(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled, double c1, double c2);
void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out);
void swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& grad_out, const Tensor& grad_gate,
                     const Tensor& grad_up);
void attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal, double scale,
               const Tensor& out, const Tensor& probs);
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                        const Tensor& probs, const Tensor& grad_out, double scale, const Tensor& grad_q,
                        const Tensor& grad_k, const Tensor& grad_v);

}  // namespace iapt::kernels::cpu
