#include "autograd/functions.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/fallbacks.h"
#include "core/ops.h"

namespace iapt {

namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

// Which of x and y = f(x) the derivative reads; a graph saves only those.
bool derivative_reads_x(UnaryOp op) {
  switch (op) {
    case UnaryOp::Log: case UnaryOp::Abs: case UnaryOp::Relu: case UnaryOp::GeluErf: case UnaryOp::GeluTanh:
    case UnaryOp::Silu: case UnaryOp::Pow: return true;
    default: return false;
  }
}
bool derivative_reads_y(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp: case UnaryOp::Sqrt: case UnaryOp::Rsqrt: case UnaryOp::Tanh: case UnaryOp::Sigmoid: return true;
    default: return false;
  }
}

Variable unary_fn(const Variable& x, UnaryOp op, double param, const char* name) {
  Tensor y = ops::unary(op, x.data(), param);
  Tensor saved_x = derivative_reads_x(op) ? x.data() : Tensor();
  Tensor saved_y = derivative_reads_y(op) ? y : Tensor();
  return make_result(y, {x}, name, [saved_x, saved_y, op, param](const Tensor& g, const Needs&) -> Grads {
    return {ops::unary_backward(op, saved_x, saved_y, g, param)};
  });
}

Shape keepdim_shape(const Shape& s, std::vector<int64_t> axes) {
  Shape k = s;
  if (axes.empty())
    for (auto& d : k) d = 1;
  for (int64_t a : axes) k[wrap_axis(a, static_cast<int64_t>(s.size()), "reduce")] = 1;
  return k;
}

Shape dropped_shape(const Shape& s, const std::vector<int64_t>& axes) {
  const int64_t rank = static_cast<int64_t>(s.size());
  std::vector<bool> reduced(s.size(), axes.empty());
  for (int64_t a : axes) reduced[wrap_axis(a, rank, "reduce")] = true;
  Shape out;
  for (int64_t i = 0; i < rank; ++i)
    if (!reduced[i]) out.push_back(s[i]);
  return out;
}

int64_t reduced_count(const Shape& s, const std::vector<int64_t>& axes) {
  if (axes.empty()) return shape_numel(s);
  int64_t n = 1;
  for (int64_t a : axes) n *= s[wrap_axis(a, static_cast<int64_t>(s.size()), "mean")];
  return n;
}

// The dtype two operands compute in: a 16-bit one meeting f32 takes the 16-bit dtype.
DType common_dtype(DType a, DType b) {
  if (a != b && is_16bit(a) && b == DType::F32) return a;
  if (a != b && is_16bit(b) && a == DType::F32) return b;
  return a;  // equal, or a mix the op refuses by name
}
Variable as_dtype(const Variable& x, DType d) { return x.dtype() == d || !is_floating(x.dtype()) ? x : cast(x, d); }
// Both operands in their common dtype.
std::pair<Variable, Variable> in_common_dtype(const Variable& a, const Variable& b) {
  const DType d = common_dtype(a.dtype(), b.dtype());
  return {as_dtype(a, d), as_dtype(b, d)};
}

// A gradient whose values live in `small` (shape with reduced axes kept), broadcast back to `full`.
Tensor broadcast_back(const Tensor& g, const Shape& kept, const Shape& full) {
  return g.reshape(kept).expand(full).contiguous();
}

}  // namespace

// ---------------------------------------------------------------- dtypes
Variable cast(const Variable& x, DType dtype) {
  IAPT_CHECK(is_floating(x.dtype()) && is_floating(dtype), "cast: from {} to {}: both must be floating",
             dtype_name(x.dtype()), dtype_name(dtype));
  if (x.dtype() == dtype) return x;
  const DType from = x.dtype();
  return make_result(x.data().to(dtype), {x}, "cast",
                     [from](const Tensor& g, const Needs&) -> Grads { return {g.to(from)}; });
}

// ---------------------------------------------------------------- elementwise
Variable add(const Variable& a_in, const Variable& b_in) {
  const auto [a, b] = in_common_dtype(a_in, b_in);
  Shape sa = a.shape(), sb = b.shape();
  return make_result(ops::add(a.data(), b.data()), {a, b}, "add", [sa, sb](const Tensor& g, const Needs& n) -> Grads {
    return {n[0] ? ops::sum_to(g, sa) : Tensor(), n[1] ? ops::sum_to(g, sb) : Tensor()};
  });
}

Variable sub(const Variable& a_in, const Variable& b_in) {
  const auto [a, b] = in_common_dtype(a_in, b_in);
  Shape sa = a.shape(), sb = b.shape();
  return make_result(ops::sub(a.data(), b.data()), {a, b}, "sub", [sa, sb](const Tensor& g, const Needs& n) -> Grads {
    return {n[0] ? ops::sum_to(g, sa) : Tensor(), n[1] ? ops::sum_to(ops::mul_scalar(g, -1.0), sb) : Tensor()};
  });
}

Variable mul(const Variable& a_in, const Variable& b_in) {
  const auto [a, b] = in_common_dtype(a_in, b_in);
  Tensor at = a.data(), bt = b.data();
  return make_result(ops::mul(at, bt), {a, b}, "mul", [at, bt](const Tensor& g, const Needs& n) -> Grads {
    return {n[0] ? ops::sum_to(ops::mul(g, bt), at.shape()) : Tensor(),
            n[1] ? ops::sum_to(ops::mul(g, at), bt.shape()) : Tensor()};
  });
}

Variable div(const Variable& a_in, const Variable& b_in) {
  const auto [a, b] = in_common_dtype(a_in, b_in);
  Tensor at = a.data(), bt = b.data();
  Tensor y = ops::div(at, bt);
  return make_result(y, {a, b}, "div", [at, bt, y](const Tensor& g, const Needs& n) -> Grads {
    Tensor ga, gb;
    Tensor g_over_b = ops::div(g, bt);
    if (n[0]) ga = ops::sum_to(g_over_b, at.shape());
    if (n[1]) gb = ops::sum_to(ops::mul_scalar(ops::mul(g_over_b, y), -1.0), bt.shape());  // -g a / b^2
    return {ga, gb};
  });
}

Variable add_scalar(const Variable& x, double s) { return unary_fn(x, UnaryOp::AddScalar, s, "add_scalar"); }
Variable mul_scalar(const Variable& x, double s) { return unary_fn(x, UnaryOp::MulScalar, s, "mul_scalar"); }
Variable neg(const Variable& x) { return unary_fn(x, UnaryOp::Neg, 0, "neg"); }
Variable exp(const Variable& x) { return unary_fn(x, UnaryOp::Exp, 0, "exp"); }
Variable log(const Variable& x) { return unary_fn(x, UnaryOp::Log, 0, "log"); }
Variable sqrt(const Variable& x) { return unary_fn(x, UnaryOp::Sqrt, 0, "sqrt"); }
Variable rsqrt(const Variable& x) { return unary_fn(x, UnaryOp::Rsqrt, 0, "rsqrt"); }
Variable pow(const Variable& x, double e) { return unary_fn(x, UnaryOp::Pow, e, "pow"); }
Variable abs(const Variable& x) { return unary_fn(x, UnaryOp::Abs, 0, "abs"); }
Variable sign(const Variable& x) { return unary_fn(x, UnaryOp::Sign, 0, "sign"); }
Variable tanh(const Variable& x) { return unary_fn(x, UnaryOp::Tanh, 0, "tanh"); }
Variable sigmoid(const Variable& x) { return unary_fn(x, UnaryOp::Sigmoid, 0, "sigmoid"); }
Variable relu(const Variable& x) { return unary_fn(x, UnaryOp::Relu, 0, "relu"); }
Variable gelu(const Variable& x, GeluApprox approx) {
  return unary_fn(x, approx == GeluApprox::Erf ? UnaryOp::GeluErf : UnaryOp::GeluTanh, 0, "gelu");
}
Variable silu(const Variable& x) { return unary_fn(x, UnaryOp::Silu, 0, "silu"); }

// ---------------------------------------------------------------- reductions
Variable sum(const Variable& x, std::vector<int64_t> axes, bool keepdim) {
  Shape full = x.shape(), kept = keepdim_shape(full, axes);
  return make_result(ops::sum(x.data(), axes, keepdim), {x}, "sum", [full, kept](const Tensor& g, const Needs&) -> Grads {
    return {broadcast_back(g, kept, full)};
  });
}

Variable mean(const Variable& x, std::vector<int64_t> axes, bool keepdim) {
  Shape full = x.shape(), kept = keepdim_shape(full, axes);
  const double inv = 1.0 / static_cast<double>(std::max<int64_t>(reduced_count(full, axes), 1));
  Tensor y = ops::mul_scalar(ops::sum(x.data(), axes, keepdim), inv);
  return make_result(y, {x}, "mean", [full, kept, inv](const Tensor& g, const Needs&) -> Grads {
    return {broadcast_back(ops::mul_scalar(g, inv), kept, full)};
  });
}

Variable amax(const Variable& x, std::vector<int64_t> axes, bool keepdim) {
  Tensor xt = x.data();
  Shape kept = keepdim_shape(xt.shape(), axes);
  Tensor m = ops::amax(xt, axes, true);
  Tensor y = keepdim ? m : m.reshape(dropped_shape(xt.shape(), axes));
  return make_result(y, {x}, "amax", [xt, m, kept, axes](const Tensor& g, const Needs&) -> Grads {
    Tensor is_max = ops::eq(xt, m);                              // 1 at every maximum
    Tensor ties = ops::sum(is_max, axes, true);                  // how many share it
    Tensor share = ops::div(g.reshape(kept), ties);              // each tie gets an equal share
    return {ops::mul(is_max, share)};
  });
}

Variable softmax(const Variable& x, int64_t axis) {
  Tensor y = ops::softmax(x.data(), axis, false);
  return make_result(y, {x}, "softmax", [y, axis](const Tensor& g, const Needs&) -> Grads {
    return {ops::softmax_backward(y, g, axis, false)};
  });
}

Variable log_softmax(const Variable& x, int64_t axis) {
  Tensor y = ops::softmax(x.data(), axis, true);
  return make_result(y, {x}, "log_softmax", [y, axis](const Tensor& g, const Needs&) -> Grads {
    return {ops::softmax_backward(y, g, axis, true)};
  });
}

// ---------------------------------------------------------------- matmul
Variable matmul(const Variable& a_in, const Variable& b_in, bool ta, bool tb) {
  // f32 or f64 activations times a frozen 16-bit weight compute in their dtype; other mixes round
  // the f32 side
  const bool frozen_16bit_weight = !is_16bit(a_in.dtype()) && is_16bit(b_in.dtype()) && b_in.dim() == 2 &&
                                   !b_in.requires_grad();
  const DType d = frozen_16bit_weight ? a_in.dtype() : common_dtype(a_in.dtype(), b_in.dtype());
  const Variable a = as_dtype(a_in, d), b = frozen_16bit_weight ? b_in : as_dtype(b_in, d);
  Tensor at = a.data(), bt = b.data();
  Tensor y = ops::matmul(at, bt, ta, tb);
  return make_result(y, {a, b}, "matmul", [at, bt, ta, tb](const Tensor& g, const Needs& n) -> Grads {
    Tensor ga, gb;
    if (n[0]) {
      // d op(A) = G op(B)^T
      if (!ta)
        ga = ops::matmul(g, bt, false, !tb);
      else if (is_16bit(bt.dtype()))  // a 16-bit weight is only ever the right operand: (G op(B)^T)^T
        ga = ops::matmul(g, bt, false, !tb).transpose(-1, -2);
      else
        ga = ops::matmul(bt, g, tb, true);
      ga = ops::sum_to(ga, at.shape());
    }
    if (n[1]) {
      // d op(B) = op(A)^T G. A 2-D weight under a batched input takes one GEMM over all rows.
      if (bt.dim() == 2 && at.dim() > 2 && at.size(-1) > 0) {
        Tensor a2 = at.reshape({-1, at.size(-1)});
        Tensor g2 = g.reshape({-1, g.size(-1)});
        if (ta) {  // op(A) = A^T per batch: rows do not fold, keep the batched form
          gb = tb ? ops::matmul(g, at, true, true) : ops::matmul(at, g, false, false);
          gb = ops::sum_to(gb, bt.shape());
        } else {
          gb = tb ? ops::matmul(g2, a2, true, false) : ops::matmul(a2, g2, true, false);
        }
      } else {
        gb = tb ? ops::matmul(g, at, true, ta) : ops::matmul(at, g, !ta, false);
        gb = ops::sum_to(gb, bt.shape());
      }
    }
    return {ga, gb};
  });
}

// ---------------------------------------------------------------- losses and lookups
Variable cross_entropy(const Variable& logits, const Tensor& targets_any, int64_t ignore_index) {
  Tensor lt = logits.data();
  Tensor targets = targets_any.to(lt.device());
  auto r = ops::cross_entropy(lt, targets, ignore_index);
  Tensor lse = r.lse;
  return make_result(r.loss, {logits}, "cross_entropy", [lt, targets, lse, ignore_index](const Tensor& g, const Needs&) -> Grads {
    return {ops::cross_entropy_backward(lt, targets, lse, ignore_index, g)};
  });
}

Variable embedding(const Variable& weight, const Tensor& ids_any) {
  const int64_t vocab = weight.size(0);
  Tensor ids = ids_any.to(weight.data().device());
  // a frozen 16-bit table gathers its rows as stored, then widens them: activations are f32 unless
  // the model keeps them 16-bit (it rounds them back, exactly)
  if (is_16bit(weight.dtype()) && !weight.requires_grad())
    return Variable(ops::embedding(weight.data(), ids).to(activation_dtype(weight.dtype())));
  // a table that is not frozen: a parameter, or 16-bit activations (rows picked for the loss)
  const DType dtype = weight.dtype();
  return make_result(ops::embedding(weight.data(), ids), {weight}, "embedding",
                     [ids, vocab, dtype](const Tensor& g, const Needs&) -> Grads {
                       return {ops::embedding_backward(ids, g, vocab).to(dtype)};
                     });
}

// ---------------------------------------------------------------- views and assembly
Variable reshape(const Variable& x, Shape shape) {
  Shape in = x.shape();
  return make_result(x.data().reshape(std::move(shape)), {x}, "reshape",
                     [in](const Tensor& g, const Needs&) -> Grads { return {g.reshape(in)}; });
}

Variable transpose(const Variable& x, int64_t a, int64_t b) {
  return make_result(x.data().transpose(a, b), {x}, "transpose",
                     [a, b](const Tensor& g, const Needs&) -> Grads { return {g.transpose(a, b)}; });
}

Variable permute(const Variable& x, const std::vector<int64_t>& order) {
  Tensor view = x.data().permute(order);  // validates the order first
  std::vector<int64_t> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[wrap_axis(order[i], x.dim(), "permute")] = static_cast<int64_t>(i);
  return make_result(view, {x}, "permute",
                     [inverse](const Tensor& g, const Needs&) -> Grads { return {g.permute(inverse)}; });
}

Variable narrow(const Variable& x, int64_t axis, int64_t start, int64_t length) {
  Shape in = x.shape();
  DType dt = x.dtype();
  axis = wrap_axis(axis, x.dim(), "narrow");
  return make_result(x.data().narrow(axis, start, length), {x}, "narrow",
                     [in, dt, axis, start, length](const Tensor& g, const Needs&) -> Grads {
                       Tensor full = zeros(in, dt, g.device());
                       full.narrow(axis, start, length).copy_(g);
                       return {full};
                     });
}

Variable expand(const Variable& x, const Shape& shape) {
  Shape in = x.shape();
  return make_result(x.data().expand(shape), {x}, "expand",
                     [in](const Tensor& g, const Needs&) -> Grads { return {ops::sum_to(g, in)}; });
}

Variable unsqueeze(const Variable& x, int64_t axis) {
  Shape in = x.shape();
  return make_result(x.data().unsqueeze(axis), {x}, "unsqueeze",
                     [in](const Tensor& g, const Needs&) -> Grads { return {g.reshape(in)}; });
}

Variable squeeze(const Variable& x, int64_t axis) {
  Shape in = x.shape();
  return make_result(x.data().squeeze(axis), {x}, "squeeze",
                     [in](const Tensor& g, const Needs&) -> Grads { return {g.reshape(in)}; });
}

Variable concat(const std::vector<Variable>& parts_in, int64_t axis) {
  IAPT_CHECK(!parts_in.empty(), "concat: no inputs");
  DType d = parts_in[0].dtype();
  for (const auto& p : parts_in) d = common_dtype(d, p.dtype());
  std::vector<Variable> parts;
  for (const auto& p : parts_in) parts.push_back(as_dtype(p, d));
  std::vector<Tensor> ts;
  std::vector<int64_t> sizes;
  for (const auto& p : parts) ts.push_back(p.data());
  axis = wrap_axis(axis, parts[0].dim(), "concat");
  for (const auto& p : parts) sizes.push_back(p.size(axis));
  return make_result(ops::concat(ts, axis), parts, "concat", [sizes, axis](const Tensor& g, const Needs& n) -> Grads {
    Grads out(sizes.size());
    int64_t at = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (n[i]) out[i] = g.narrow(axis, at, sizes[i]);
      at += sizes[i];
    }
    return out;
  });
}

std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t axis) {
  axis = wrap_axis(axis, x.dim(), "split");
  int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  IAPT_CHECK(total == x.size(axis), "split: sizes {} sum to {}, axis {} of {} has {}", shape_str(sizes), total, axis,
             shape_str(x.shape()), x.size(axis));
  std::vector<Variable> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, axis, at, s));
    at += s;
  }
  return out;
}

Variable stack(const std::vector<Variable>& parts, int64_t axis) {
  IAPT_CHECK(!parts.empty(), "stack: no inputs");
  axis = wrap_axis(axis, parts[0].dim() + 1, "stack");
  std::vector<Variable> expanded;
  for (const auto& p : parts) {
    IAPT_CHECK(p.shape() == parts[0].shape(), "stack: shapes {} and {} differ", shape_str(p.shape()),
               shape_str(parts[0].shape()));
    expanded.push_back(unsqueeze(p, axis));
  }
  return concat(expanded, axis);
}

Variable where(const Tensor& cond_any, const Variable& a_in, const Variable& b_in) {
  const auto [a, b] = in_common_dtype(a_in, b_in);
  Shape sa = a.shape(), sb = b.shape();
  Tensor cond = cond_any.to(a.data().device());
  return make_result(ops::where(cond, a.data(), b.data()), {a, b}, "where",
                     [cond, sa, sb](const Tensor& g, const Needs& n) -> Grads {
                       Tensor zero = zeros({}, g.dtype(), g.device());
                       return {n[0] ? ops::sum_to(ops::where(cond, g, zero), sa) : Tensor(),
                               n[1] ? ops::sum_to(ops::where(cond, zero, g), sb) : Tensor()};
                     });
}

Variable masked_fill(const Variable& x, const Tensor& mask_any, double value) {
  Tensor xt = x.data();
  Tensor mask = mask_any.to(xt.device());
  IAPT_CHECK(broadcast_shapes(mask.shape(), xt.shape(), "masked_fill") == xt.shape(),
             "masked_fill: mask {} does not broadcast to {}", shape_str(mask.shape()), shape_str(xt.shape()));
  Tensor fill = full({}, value, xt.dtype(), xt.device());
  return make_result(ops::where(mask, fill, xt), {x}, "masked_fill", [mask](const Tensor& g, const Needs&) -> Grads {
    return {ops::where(mask, zeros({}, g.dtype(), g.device()), g)};
  });
}

// ---------------------------------------------------------------- fused layers
Variable rms_norm(const Variable& x, const Variable& weight, double eps) {
  Tensor xt = x.data(), wt = weight.data();
  auto r = ops::rms_norm(xt, wt, eps);
  Tensor rstd = r.rstd;
  return make_result(r.out, {x, weight}, "rms_norm", [xt, wt, rstd](const Tensor& g, const Needs& n) -> Grads {
    auto [gx, gw] = ops::rms_norm_backward(xt, wt, rstd, g, n[1]);
    return {gx, gw};
  });
}

Variable layer_norm(const Variable& x, const Variable& weight, const Variable& bias, double eps) {
  Tensor xt = x.data(), wt = weight.data();
  auto r = ops::layer_norm(xt, wt, bias.data(), eps);
  Tensor mean = r.mean, rstd = r.rstd;
  return make_result(r.out, {x, weight, bias}, "layer_norm",
                     [xt, wt, mean, rstd](const Tensor& g, const Needs& n) -> Grads {
                       auto gr = ops::layer_norm_backward(xt, wt, mean, rstd, g, n[1] || n[2]);
                       return {gr.x, gr.weight, gr.bias};
                     });
}

Variable rope(const Variable& x, const Tensor& positions_any, double theta) {
  Tensor positions = positions_any.to(x.data().device());
  return make_result(ops::rope(x.data(), positions, theta, false), {x}, "rope",
                     [positions, theta](const Tensor& g, const Needs&) -> Grads {
                       return {ops::rope(g, positions, theta, true)};
                     });
}

Variable scaled_dot_product_attention(const Variable& q, const Variable& k, const Variable& v, bool causal,
                                      const std::optional<Tensor>& key_padding_mask) {
  IAPT_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention: q, k, v must be [B, H, T, D], got {} {} {}",
             shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  Variable scores = mul_scalar(matmul(q, k, false, true), scale);  // [B, H, T, S]
  const Tensor blocked =
      fallback::blocked_keys(q.data(), key_padding_mask ? *key_padding_mask : Tensor(), causal, k.size(2));
  if (blocked.defined())
    scores = masked_fill(scores, blocked, static_cast<double>(std::numeric_limits<float>::lowest()));
  return matmul(softmax(scores, -1), v);
}

Variable swiglu(const Variable& gate_in, const Variable& up_in) {
  const auto [gate, up] = in_common_dtype(gate_in, up_in);
  Tensor g = gate.data(), u = up.data();
  return make_result(ops::swiglu(g, u), {gate, up}, "swiglu", [g, u](const Tensor& go, const Needs&) -> Grads {
    auto [gg, gu] = ops::swiglu_backward(g, u, go);
    return {gg, gu};
  });
}

Variable attention(const Variable& q_in, const Variable& k_in, const Variable& v_in, bool causal,
                   const std::optional<Tensor>& key_padding_mask) {
  const DType d = common_dtype(common_dtype(q_in.dtype(), k_in.dtype()), v_in.dtype());
  const Variable q = as_dtype(q_in, d), k = as_dtype(k_in, d), v = as_dtype(v_in, d);
  IAPT_CHECK(q.dim() == 4 && k.dim() == 4 && k.size(1) > 0 && q.size(1) % k.size(1) == 0,
             "attention: q {} and k {} (q [B, H, T, D], k [B, Hkv, S, D], H a multiple of Hkv)", shape_str(q.shape()),
             shape_str(k.shape()));
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  Tensor qt = q.data(), kt = k.data(), vt = v.data();
  const Tensor mask = key_padding_mask ? *key_padding_mask : Tensor();
  auto r = ops::attention(qt, kt, vt, mask, causal, scale);
  Tensor probs = r.probs;
  return make_result(r.out, {q, k, v}, "attention",
                     [qt, kt, vt, mask, causal, probs, scale](const Tensor& g, const Needs&) -> Grads {
                       auto gr = ops::attention_backward(qt, kt, vt, mask, causal, probs, g, scale);
                       return {gr.q, gr.k, gr.v};
                     });
}

Variable rational(const Variable& x, const Variable& numerator, const Variable& denominator, RationalVersion version) {
  Tensor xt = x.data(), a = numerator.data(), b = denominator.data();
  return make_result(ops::rational(xt, a, b, version), {x, numerator, denominator}, "rational",
                     [xt, a, b, version](const Tensor& g, const Needs& n) -> Grads {
                       auto r = ops::rational_backward(xt, a, b, version, g, n[0], n[1] || n[2]);
                       return {r.x, r.numerator, r.denominator};
                     });
}

Variable dropout(const Variable& x, double p, bool training, Generator& gen) {
  IAPT_CHECK(p >= 0.0 && p < 1.0, "dropout: p = {} is outside [0, 1)", p);
  if (!training || p == 0.0) return x;
  Tensor u = empty(x.shape(), x.dtype(), x.data().device());
  uint64_t first = gen.take(static_cast<uint64_t>(u.numel()));
  backend_for(u.device()).uniform(u, gen.seed(), first);
  // keep where u >= p, scaled so the expectation is unchanged
  Tensor keep = ops::mul_scalar(ops::add_scalar(ops::lt(u, full({}, p, x.dtype(), u.device())), -1.0), -1.0);
  Tensor scaled_mask = ops::mul_scalar(keep, 1.0 / (1.0 - p));
  return make_result(ops::mul(x.data(), scaled_mask), {x}, "dropout",
                     [scaled_mask](const Tensor& g, const Needs&) -> Grads { return {ops::mul(g, scaled_mask)}; });
}

}  // namespace iapt
