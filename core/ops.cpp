#include "core/fallbacks.h"
#include "core/ops.h"

#include <algorithm>

#include "core/error.h"

namespace iapt::ops {

namespace {

const Backend& be(const Tensor& t) { return backend_for(t.device()); }

// 16-bit activations (a backbone computed in bf16 or f16): an op widens its 16-bit inputs to f32,
// computes as the f32 kernels do (norms, softmax, RoPE and the loss accumulate in f32), and rounds
// its result once to the inputs' dtype, so what lives between ops (the activations, and what the
// backward keeps) is 16-bit.
Tensor widened(const Tensor& t) { return t.defined() && is_16bit(t.dtype()) ? t.to(DType::F32) : t; }
Tensor rounded(const Tensor& t, DType d) { return t.defined() ? t.to(d) : t; }
// Whether an op of this family must widen t: 16-bit, on a backend whose kernels of the family do
// not read and write that type themselves (the same values, without the f32 copies).
bool must_widen(const Tensor& t, Native16 family) {
  return is_16bit(t.dtype()) && !takes_16bit(be(t), t.dtype(), family);
}
bool widen_elementwise(const Tensor& t) { return must_widen(t, Native16::Elementwise); }
// The dtype of what is accumulated over 16-bit values and kept (statistics, the loss): f32.
DType accumulated(DType x) { return is_16bit(x) ? DType::F32 : x; }
// Whether a norm's weight or the rational's coefficients fit x: the same dtype, or f32 (a model's
// or a method's own parameters) beside 16-bit activations.
bool parameter_fits(DType x, DType parameter) {
  return is_floating(x) && (parameter == x || (is_16bit(x) && parameter == DType::F32));
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  IAPT_CHECK(a.device() == b.device(), "{}: tensors on {} and {}", op, device_name(a.device()),
             device_name(b.device()));
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  IAPT_CHECK(a.defined() && b.defined(), "{}: undefined input", name);
  check_same_device(a, b, name);
  IAPT_CHECK(a.dtype() == b.dtype(), "{}: dtypes {} and {} differ", name, dtype_name(a.dtype()),
             dtype_name(b.dtype()));
  IAPT_CHECK(is_floating(a.dtype()), "{}: expected floating tensors, got {} of shapes {} and {}", name,
             dtype_name(a.dtype()), shape_str(a.shape()), shape_str(b.shape()));
  if (widen_elementwise(a)) return rounded(binary(op, widened(a), widened(b), name), a.dtype());
  Shape s = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(s, a.dtype(), a.device());
  be(a).binary(op, a.expand(s), b.expand(s), out);
  return out;
}

std::vector<int64_t> normalise_axes(std::vector<int64_t> axes, int64_t rank, const char* op) {
  if (axes.empty()) {
    axes.resize(rank);
    for (int64_t i = 0; i < rank; ++i) axes[i] = i;
  }
  for (auto& a : axes) a = wrap_axis(a, rank, op);
  std::sort(axes.begin(), axes.end());
  IAPT_CHECK(std::adjacent_find(axes.begin(), axes.end()) == axes.end(), "{}: repeated axis", op);
  return axes;
}

Tensor reduce(ReduceOp op, const Tensor& x, std::vector<int64_t> axes, bool keepdim, const char* name) {
  IAPT_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor, got {}", name, dtype_name(x.dtype()));
  if (must_widen(x, Native16::Reduce))
    return rounded(reduce(op, widened(x), std::move(axes), keepdim, name), x.dtype());
  axes = normalise_axes(std::move(axes), x.dim(), name);
  Shape kept = x.shape();
  for (int64_t a : axes) kept[a] = 1;
  if (op == ReduceOp::Max)
    for (int64_t a : axes)
      IAPT_CHECK(x.shape()[a] > 0, "{}: reducing the empty axis {} of {}", name, a, shape_str(x.shape()));
  // Kept axes first, reduced axes last, made dense: each output element reduces one row.
  std::vector<int64_t> order;
  int64_t inner = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) order.push_back(d);
  for (int64_t a : axes) order.push_back(a), inner *= x.shape()[a];
  Tensor out = empty(kept, x.dtype(), x.device());
  if (out.numel() > 0)
    be(x).reduce(op, x.permute(order).contiguous().view({out.numel(), inner}), out);
  if (keepdim) return out;
  Shape dropped;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (!std::binary_search(axes.begin(), axes.end(), i)) dropped.push_back(x.shape()[i]);
  return out.view(dropped);
}

}  // namespace

OpCounters& op_counters() {
  static OpCounters c;
  return c;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b, "mul"); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b, "div"); }
Tensor eq(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Eq, a, b, "eq"); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Lt, a, b, "lt"); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Gt, a, b, "gt"); }

static const char* unary_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "neg";
    case UnaryOp::Exp: return "exp";
    case UnaryOp::Log: return "log";
    case UnaryOp::Sqrt: return "sqrt";
    case UnaryOp::Rsqrt: return "rsqrt";
    case UnaryOp::Abs: return "abs";
    case UnaryOp::Sign: return "sign";
    case UnaryOp::Tanh: return "tanh";
    case UnaryOp::Sigmoid: return "sigmoid";
    case UnaryOp::Relu: return "relu";
    case UnaryOp::GeluErf: return "gelu";
    case UnaryOp::GeluTanh: return "gelu(tanh)";
    case UnaryOp::Silu: return "silu";
    case UnaryOp::Pow: return "pow";
    case UnaryOp::AddScalar: return "add_scalar";
    case UnaryOp::MulScalar: return "mul_scalar";
  }
  return "unary";
}

Tensor unary(UnaryOp op, const Tensor& x, double param) {
  IAPT_CHECK(x.defined(), "{}: undefined input", unary_name(op));
  IAPT_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor, got {} of shape {}", unary_name(op),
             dtype_name(x.dtype()), shape_str(x.shape()));
  if (widen_elementwise(x)) return rounded(unary(op, widened(x), param), x.dtype());
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  be(x).unary(op, x, param, out);
  return out;
}
Tensor add_scalar(const Tensor& x, double s) { return unary(UnaryOp::AddScalar, x, s); }
Tensor mul_scalar(const Tensor& x, double s) { return unary(UnaryOp::MulScalar, x, s); }

Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, double param) {
  // x or y may be undefined when the derivative does not read it; the kernel then gets a
  // stand-in of the right shape whose values it ignores.
  const Tensor& xx = x.defined() ? x : grad_out;
  const Tensor& yy = y.defined() ? y : xx;
  IAPT_CHECK(grad_out.shape() == xx.shape() && yy.shape() == xx.shape(), "{} backward: gradient {} for input {}",
             unary_name(op), shape_str(grad_out.shape()), shape_str(xx.shape()));
  if (widen_elementwise(grad_out))
    return rounded(unary_backward(op, widened(x), widened(y), widened(grad_out), param), grad_out.dtype());
  Tensor gi = empty(grad_out.shape(), grad_out.dtype(), grad_out.device());
  be(grad_out).unary_backward(op, xx, yy, grad_out, param, gi);
  return gi;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_device(a, b, "where");
  check_same_device(cond, a, "where");
  IAPT_CHECK(a.dtype() == b.dtype(), "where: dtypes {} and {} differ", dtype_name(a.dtype()), dtype_name(b.dtype()));
  // a backend whose where takes 16-bit a and b takes a condition of any dtype beside them
  const bool native = is_16bit(a.dtype()) && !must_widen(a, Native16::Where);
  if (!native && (is_16bit(a.dtype()) || is_16bit(cond.dtype())))
    return rounded(where(widened(cond), widened(a), widened(b)), a.dtype());
  Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(s, a.dtype(), a.device());
  be(a).where(cond.expand(s), a.expand(s), b.expand(s), out);
  return out;
}

Tensor sum(const Tensor& x, std::vector<int64_t> axes, bool keepdim) {
  return reduce(ReduceOp::Sum, x, std::move(axes), keepdim, "sum");
}
Tensor amax(const Tensor& x, std::vector<int64_t> axes, bool keepdim) {
  return reduce(ReduceOp::Max, x, std::move(axes), keepdim, "amax");
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  IAPT_CHECK(x.dim() >= static_cast<int64_t>(shape.size()), "sum_to: cannot reduce {} to {}", shape_str(x.shape()),
             shape_str(shape));
  size_t lead = x.shape().size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t i = 0; i < x.shape().size(); ++i) {
    if (i < lead) {
      axes.push_back(static_cast<int64_t>(i));
    } else if (shape[i - lead] == 1 && x.shape()[i] != 1) {
      axes.push_back(static_cast<int64_t>(i));
    } else {
      IAPT_CHECK(shape[i - lead] == x.shape()[i], "sum_to: cannot reduce {} to {}", shape_str(x.shape()),
                 shape_str(shape));
    }
  }
  if (axes.empty()) return x.view(shape);
  return reduce(ReduceOp::Sum, x, axes, true, "sum_to").view(shape);
}

namespace {

// op(a) @ op(w) for a frozen 16-bit weight w [R, C]: the result in a's dtype (f32 or f64).
Tensor matmul_16bit_weight(const Tensor& a, const Tensor& w, bool trans_a, bool trans_w) {
  IAPT_CHECK(a.dtype() == DType::F32 || a.dtype() == DType::F64,
             "matmul: a {} weight multiplies f32 or f64 activations, got {}", dtype_name(w.dtype()),
             dtype_name(a.dtype()));
  IAPT_CHECK(w.dim() == 2, "matmul: a {} operand must be a 2-D weight, got shape {}", dtype_name(w.dtype()),
             shape_str(w.shape()));
  const int64_t ka = trans_a ? a.size(-2) : a.size(-1), kw = trans_w ? w.size(1) : w.size(0);
  IAPT_CHECK(ka == kw, "matmul: inner sizes differ: {}{} @ {}{}", shape_str(a.shape()), trans_a ? "^T" : "",
             shape_str(w.shape()), trans_w ? "^T" : "");
  const int64_t n = trans_w ? w.size(0) : w.size(1);
  // x [..., M, K]: the batch axes fold into M for one GEMM
  if (a.dim() > 2 && !trans_a) {
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(n);
    return matmul_16bit_weight(a.reshape({-1, ka}), w, false, trans_w).view(out_shape);
  }
  if (a.dim() != 2 || !be(a).gemm_16bit) return fallback::gemm_16bit(a, w, trans_a, trans_w);
  Tensor out = empty({trans_a ? a.size(1) : a.size(0), n}, a.dtype(), a.device());
  op_counters().gemm.fetch_add(1, std::memory_order_relaxed);
  be(a).gemm_16bit(a, w, trans_a, trans_w, out);
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  IAPT_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: operands need rank >= 2, got {} and {}", shape_str(a.shape()),
             shape_str(b.shape()));
  check_same_device(a, b, "matmul");
  if (is_16bit(b.dtype()) && !is_16bit(a.dtype())) return matmul_16bit_weight(a, b, trans_a, trans_b);
  IAPT_CHECK(a.dtype() == b.dtype() && is_floating(a.dtype()), "matmul: dtypes {} and {}", dtype_name(a.dtype()),
             dtype_name(b.dtype()));
  // 16-bit activations: a 2-D right operand (a weight, as stored) takes the 16-bit-weight GEMM
  if (must_widen(a, Native16::Gemm))
    return rounded(b.dim() == 2 ? matmul_16bit_weight(widened(a), b, trans_a, trans_b)
                                : matmul(widened(a), widened(b), trans_a, trans_b),
                   a.dtype());
  int64_t m = trans_a ? a.size(-1) : a.size(-2);
  int64_t ka = trans_a ? a.size(-2) : a.size(-1);
  int64_t kb = trans_b ? b.size(-1) : b.size(-2);
  int64_t n = trans_b ? b.size(-2) : b.size(-1);
  IAPT_CHECK(ka == kb, "matmul: inner sizes differ: {}{} @ {}{}", shape_str(a.shape()), trans_a ? "^T" : "",
             shape_str(b.shape()), trans_b ? "^T" : "");
  // x[..., M, K] @ W with a 2-D W: fold the batch axes into M and run one large GEMM.
  if (b.dim() == 2 && a.dim() > 2 && !trans_a && a.is_contiguous() && ka > 0) {
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(n);
    return matmul(a.view({-1, ka}), b, false, trans_b).view(out_shape);
  }
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul (batch axes)");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), a.shape().end() - 2, a.shape().end());
  eb.insert(eb.end(), b.shape().end() - 2, b.shape().end());
  Tensor out = empty(out_shape, a.dtype(), a.device());
  op_counters().gemm.fetch_add(1, std::memory_order_relaxed);
  be(a).gemm(a.expand(ea), b.expand(eb), trans_a, trans_b, out);
  return out;
}

Tensor softmax(const Tensor& x, int64_t axis, bool log) {
  IAPT_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor, got {} of shape {}", log ? "log_softmax" : "softmax",
             dtype_name(x.dtype()), shape_str(x.shape()));
  axis = wrap_axis(axis, x.dim(), log ? "log_softmax" : "softmax");
  if (must_widen(x, Native16::Softmax)) return rounded(softmax(widened(x), axis, log), x.dtype());
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  be(x).softmax(x, axis, log, out);
  return out;
}

Tensor softmax_backward(const Tensor& y, const Tensor& grad_out, int64_t axis, bool log) {
  axis = wrap_axis(axis, y.dim(), "softmax backward");
  IAPT_CHECK(grad_out.shape() == y.shape() && grad_out.dtype() == y.dtype(),
             "softmax backward: gradient {} {} for output {} {}", shape_str(grad_out.shape()),
             dtype_name(grad_out.dtype()), shape_str(y.shape()), dtype_name(y.dtype()));
  if (must_widen(y, Native16::Softmax))
    return rounded(softmax_backward(widened(y), widened(grad_out), axis, log), y.dtype());
  Tensor gi = empty(y.shape(), y.dtype(), y.device());
  be(y).softmax_backward(y, grad_out, axis, log, gi);
  return gi;
}

CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  IAPT_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, C], got {}", shape_str(logits.shape()));
  IAPT_CHECK(targets.dtype() == DType::I64 && targets.dim() == 1 && targets.size(0) == logits.size(0),
             "cross_entropy: targets must be i64 [{}], got {} {}", logits.size(0), dtype_name(targets.dtype()),
             shape_str(targets.shape()));
  // 16-bit logits: the loss and the log-sum-exp stay f32
  if (must_widen(logits, Native16::CrossEntropy)) return cross_entropy(widened(logits), targets, ignore_index);
  const DType acc = accumulated(logits.dtype());
  CrossEntropyResult r{empty({}, acc, logits.device()), empty({logits.size(0)}, acc, logits.device())};
  be(logits).cross_entropy(logits, targets, ignore_index, r.loss, r.lse);
  return r;
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse, int64_t ignore_index,
                              const Tensor& grad_loss) {
  IAPT_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0) && lse.shape() == targets.shape() &&
                 grad_loss.numel() == 1,
             "cross_entropy backward: logits {}, targets {}, lse {}, gradient {} do not fit",
             shape_str(logits.shape()), shape_str(targets.shape()), shape_str(lse.shape()),
             shape_str(grad_loss.shape()));
  if (must_widen(logits, Native16::CrossEntropy))
    return rounded(cross_entropy_backward(widened(logits), targets, lse, ignore_index, widened(grad_loss)),
                   logits.dtype());
  Tensor g = empty(logits.shape(), logits.dtype(), logits.device());
  be(logits).cross_entropy_backward(logits, targets, lse, ignore_index, grad_loss, g);
  return g;
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  IAPT_CHECK(weight.dim() == 2, "embedding: weight must be [V, D], got {}", shape_str(weight.shape()));
  IAPT_CHECK(ids.dtype() == DType::I64, "embedding: ids must be i64, got {}", dtype_name(ids.dtype()));
  Shape s = ids.shape();
  s.push_back(weight.size(1));
  Tensor out = empty(s, weight.dtype(), weight.device());
  be(weight).embedding(weight, ids, out);
  return out;
}

Tensor embedding_backward(const Tensor& ids, const Tensor& grad_out, int64_t vocab_size) {
  Shape expect = ids.shape();
  expect.push_back(grad_out.size(-1));
  IAPT_CHECK(grad_out.shape() == expect, "embedding backward: gradient {} for ids {}", shape_str(grad_out.shape()),
             shape_str(ids.shape()));
  if (is_16bit(grad_out.dtype())) return embedding_backward(ids, widened(grad_out), vocab_size);  // f32 tables train
  Tensor gw = zeros({vocab_size, grad_out.size(-1)}, grad_out.dtype(), grad_out.device());
  be(grad_out).embedding_backward(ids, grad_out, gw);
  return gw;
}

static Shape row_shape(const Tensor& x) { return Shape(x.shape().begin(), x.shape().end() - 1); }

NormResult rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  IAPT_CHECK(x.dim() >= 1 && weight.dim() == 1 && weight.size(0) == x.size(-1),
             "rms_norm: weight {} does not match the last axis of {}", shape_str(weight.shape()),
             shape_str(x.shape()));
  IAPT_CHECK(parameter_fits(x.dtype(), weight.dtype()), "rms_norm: x is {}, weight is {}", dtype_name(x.dtype()),
             dtype_name(weight.dtype()));
  if (must_widen(x, Native16::Norms)) {  // the output rounded, rstd kept in f32 for the backward
    NormResult r = rms_norm(widened(x), widened(weight), eps);
    r.out = rounded(r.out, x.dtype());
    return r;
  }
  NormResult r;
  r.out = empty(x.shape(), x.dtype(), x.device());
  r.rstd = empty(row_shape(x), accumulated(x.dtype()), x.device());
  be(x).rms_norm(x, weight, eps, r.out, r.rstd);
  return r;
}

std::pair<Tensor, Tensor> rms_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& rstd,
                                            const Tensor& grad_out, bool want_weight_grad) {
  if (must_widen(x, Native16::Norms)) {
    auto [gx, gw] = rms_norm_backward(widened(x), widened(weight), rstd, widened(grad_out), want_weight_grad);
    return {rounded(gx, x.dtype()), rounded(gw, weight.dtype())};
  }
  Tensor gx = empty(x.shape(), x.dtype(), x.device());
  Tensor gw = want_weight_grad ? empty(weight.shape(), weight.dtype(), weight.device()) : Tensor();
  be(x).rms_norm_backward(x, weight, rstd, grad_out, gx, gw);
  return {gx, gw};
}

NormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  IAPT_CHECK(x.dim() >= 1 && weight.dim() == 1 && weight.size(0) == x.size(-1) && bias.shape() == weight.shape(),
             "layer_norm: weight {} and bias {} do not match the last axis of {}", shape_str(weight.shape()),
             shape_str(bias.shape()), shape_str(x.shape()));
  IAPT_CHECK(weight.dtype() == bias.dtype() && parameter_fits(x.dtype(), weight.dtype()),
             "layer_norm: x is {}, weight {}, bias {}", dtype_name(x.dtype()), dtype_name(weight.dtype()),
             dtype_name(bias.dtype()));
  if (must_widen(x, Native16::Norms)) {  // the output rounded, mean and rstd kept in f32 for the backward
    NormResult r = layer_norm(widened(x), widened(weight), widened(bias), eps);
    r.out = rounded(r.out, x.dtype());
    return r;
  }
  NormResult r;
  r.out = empty(x.shape(), x.dtype(), x.device());
  r.mean = empty(row_shape(x), accumulated(x.dtype()), x.device());
  r.rstd = empty(row_shape(x), accumulated(x.dtype()), x.device());
  be(x).layer_norm(x, weight, bias, eps, r.out, r.mean, r.rstd);
  return r;
}

LayerNormGrads layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
                                   const Tensor& grad_out, bool want_weight_grads) {
  if (must_widen(x, Native16::Norms)) {
    LayerNormGrads g = layer_norm_backward(widened(x), widened(weight), mean, rstd, widened(grad_out), want_weight_grads);
    return {rounded(g.x, x.dtype()), rounded(g.weight, weight.dtype()), rounded(g.bias, weight.dtype())};
  }
  LayerNormGrads g;
  g.x = empty(x.shape(), x.dtype(), x.device());
  if (want_weight_grads) {
    g.weight = empty(weight.shape(), weight.dtype(), weight.device());
    g.bias = empty(weight.shape(), weight.dtype(), weight.device());
  }
  be(x).layer_norm_backward(x, weight, mean, rstd, grad_out, g.x, g.weight, g.bias);
  return g;
}

Tensor rope(const Tensor& x, const Tensor& positions, double theta, bool inverse) {
  IAPT_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, "rope: x must be [B, H, T, D] with D even, got {}",
             shape_str(x.shape()));
  IAPT_CHECK(positions.dtype() == DType::I64, "rope: positions must be i64");
  bool ok = (positions.dim() == 1 && positions.size(0) == x.size(2)) ||
            (positions.dim() == 2 && positions.size(0) == x.size(0) && positions.size(1) == x.size(2));
  IAPT_CHECK(ok, "rope: positions {} must be [T] or [B, T] for x {}", shape_str(positions.shape()),
             shape_str(x.shape()));
  if (must_widen(x, Native16::Rope)) return rounded(rope(widened(x), positions, theta, inverse), x.dtype());
  // On the CPU the output keeps a [B, T, H, D] buffer's layout when x has it, so that the heads'
  // split and merge around attention stay views.
  const bool heads_inner = x.device() == Device::CPU && x.transpose(1, 2).is_contiguous();
  Tensor out = heads_inner ? empty({x.size(0), x.size(2), x.size(1), x.size(3)}, x.dtype(), x.device()).transpose(1, 2)
                           : empty(x.shape(), x.dtype(), x.device());
  be(x).rope(x, positions, theta, inverse, out);
  return out;
}

static void check_rational(const Tensor& x, const Tensor& num, const Tensor& den) {
  IAPT_CHECK(num.dim() == 1 && den.dim() == 1 && num.numel() >= 1 && num.numel() <= 17 && den.numel() <= 16,
             "rational: numerator {} and denominator {} must be vectors of at most 17 and 16 coefficients",
             shape_str(num.shape()), shape_str(den.shape()));
  IAPT_CHECK(num.dtype() == den.dtype() && parameter_fits(x.dtype(), num.dtype()),
             "rational: x is {}, numerator {}, denominator {}", dtype_name(x.dtype()), dtype_name(num.dtype()),
             dtype_name(den.dtype()));
}

Tensor rational(const Tensor& x, const Tensor& numerator, const Tensor& denominator, RationalVersion version) {
  check_rational(x, numerator, denominator);
  if (must_widen(x, Native16::Rational))
    return rounded(rational(widened(x), widened(numerator), widened(denominator), version), x.dtype());
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  be(x).rational(x, numerator, denominator, version, out);
  return out;
}

RationalGrads rational_backward(const Tensor& x, const Tensor& numerator, const Tensor& denominator,
                                RationalVersion version, const Tensor& grad_out, bool want_x, bool want_coefficients) {
  check_rational(x, numerator, denominator);
  IAPT_CHECK(grad_out.shape() == x.shape(), "rational backward: gradient {} for input {}", shape_str(grad_out.shape()),
             shape_str(x.shape()));
  if (must_widen(x, Native16::Rational)) {  // the coefficients' gradients in their own dtype, summed in f32
    RationalGrads g = rational_backward(widened(x), widened(numerator), widened(denominator), version,
                                        widened(grad_out), want_x, want_coefficients);
    return {rounded(g.x, x.dtype()), rounded(g.numerator, numerator.dtype()), rounded(g.denominator, denominator.dtype())};
  }
  RationalGrads g;
  if (want_x) g.x = empty(x.shape(), x.dtype(), x.device());
  if (want_coefficients) {
    g.numerator = empty(numerator.shape(), numerator.dtype(), x.device());
    g.denominator = empty(denominator.shape(), denominator.dtype(), x.device());
  }
  be(x).rational_backward(x, numerator, denominator, version, grad_out, g.x, g.numerator, g.denominator);
  return g;
}

Tensor swiglu(const Tensor& gate_in, const Tensor& up_in) {
  IAPT_CHECK(gate_in.shape() == up_in.shape() && gate_in.dtype() == up_in.dtype(), "swiglu: gate {} {} and up {} {}",
             shape_str(gate_in.shape()), dtype_name(gate_in.dtype()), shape_str(up_in.shape()), dtype_name(up_in.dtype()));
  check_same_device(gate_in, up_in, "swiglu");
  // without a fused kernel the composition would round silu(gate) before the product: widen
  if (widen_elementwise(gate_in) || (is_16bit(gate_in.dtype()) && !be(gate_in).swiglu))
    return rounded(swiglu(widened(gate_in), widened(up_in)), gate_in.dtype());
  if (!be(gate_in).swiglu) return fallback::swiglu(gate_in, up_in);
  Tensor gate = gate_in.contiguous(), up = up_in.contiguous();
  Tensor out = empty(gate.shape(), gate.dtype(), gate.device());
  be(gate).swiglu(gate, up, out);
  return out;
}

std::pair<Tensor, Tensor> swiglu_backward(const Tensor& gate_in, const Tensor& up_in, const Tensor& grad_out) {
  if (widen_elementwise(gate_in) || (is_16bit(gate_in.dtype()) && !be(gate_in).swiglu_backward)) {
    auto [gg, gu] = swiglu_backward(widened(gate_in), widened(up_in), widened(grad_out));
    return {rounded(gg, gate_in.dtype()), rounded(gu, up_in.dtype())};
  }
  if (!be(gate_in).swiglu_backward) return fallback::swiglu_backward(gate_in, up_in, grad_out);
  Tensor gate = gate_in.contiguous(), up = up_in.contiguous(), g = grad_out.contiguous();
  Tensor gg = empty(gate.shape(), gate.dtype(), gate.device()), gu = empty(up.shape(), up.dtype(), up.device());
  be(gate).swiglu_backward(gate, up, g, gg, gu);
  return {gg, gu};
}

namespace {
// The fused attention reads [B, H, rows, D] views with unit stride along D; anything else is copied.
Tensor unit_d(const Tensor& x) { return x.strides()[3] == 1 ? x : x.contiguous(); }
}  // namespace

bool has_fused_attention(Device device) { return backend_for(device).attention != nullptr; }

AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                          double scale) {
  IAPT_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && k.shape() == v.shape() && q.size(0) == k.size(0) &&
                 q.size(3) == k.size(3) && k.size(1) > 0 && q.size(1) % k.size(1) == 0 && k.size(2) >= q.size(2),
             "attention: q {} over k {} and v {} (q [B, H, T, D], k and v [B, Hkv, S >= T, D], H a multiple of Hkv)",
             shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
  check_same_device(q, k, "attention");
  check_same_device(q, v, "attention");
  IAPT_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), "attention: q is {}, k {}, v {}", dtype_name(q.dtype()),
             dtype_name(k.dtype()), dtype_name(v.dtype()));
  if (is_16bit(q.dtype())) {  // the probabilities kept for the backward are 16-bit as well
    AttentionResult r = attention(widened(q), widened(k), widened(v), key_mask, causal, scale);
    return {rounded(r.out, q.dtype()), rounded(r.probs, q.dtype())};
  }
  if (!has_fused_attention(q.device())) return fallback::attention(q, k, v, key_mask, causal, scale);
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), s = k.size(2), d = q.size(3);
  AttentionResult r;
  r.out = empty({b, t, h, d}, q.dtype(), q.device()).transpose(1, 2);
  r.probs = empty({b, h, t, s}, q.dtype(), q.device());
  be(q).attention(unit_d(q), unit_d(k), unit_d(v), key_mask, causal, scale, r.out, r.probs);
  return r;
}

AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, bool causal,
                                  const Tensor& probs, const Tensor& grad_out, double scale) {
  IAPT_CHECK(grad_out.shape() == q.shape(), "attention backward: gradient {} for q {}", shape_str(grad_out.shape()),
             shape_str(q.shape()));
  if (is_16bit(q.dtype())) {
    AttentionGrads g = attention_backward(widened(q), widened(k), widened(v), key_mask, causal, widened(probs),
                                          widened(grad_out), scale);
    return {rounded(g.q, q.dtype()), rounded(g.k, k.dtype()), rounded(g.v, v.dtype())};
  }
  if (!has_fused_attention(q.device()))
    return fallback::attention_backward(q, k, v, key_mask, causal, probs, grad_out, scale);
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
  AttentionGrads g;
  g.q = empty({b, t, h, d}, q.dtype(), q.device()).transpose(1, 2);
  g.k = empty(k.shape(), k.dtype(), k.device());
  g.v = empty(v.shape(), v.dtype(), v.device());
  be(q).attention_backward(unit_d(q), unit_d(k), unit_d(v), key_mask, causal, probs.contiguous(), unit_d(grad_out), scale,
                           g.q, g.k, g.v);
  return g;
}

void adam_step(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled, double c1, double c2) {
  IAPT_CHECK(g.shape() == p.shape() && m.shape() == p.shape() && v.shape() == p.shape(),
             "adam_step: parameter {}, gradient {}, moments {} and {}", shape_str(p.shape()), shape_str(g.shape()),
             shape_str(m.shape()), shape_str(v.shape()));
  if (!be(p).adam_step || !p.is_contiguous() || !m.is_contiguous() || !v.is_contiguous()) {
    fallback::adam_step(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, c1, c2);
    return;
  }
  be(p).adam_step(p, g.contiguous(), m, v, lr, beta1, beta2, eps, weight_decay, decoupled, c1, c2);
  // The kernel wrote p, m and v in place.
  p.storage()->bump_version();
  m.storage()->bump_version();
  v.storage()->bump_version();
}

Tensor concat(const std::vector<Tensor>& parts, int64_t axis) {
  IAPT_CHECK(!parts.empty(), "concat: no tensors");
  const Tensor& first = parts[0];
  axis = wrap_axis(axis, first.dim(), "concat");
  Shape s = first.shape();
  s[axis] = 0;
  for (const Tensor& p : parts) {
    IAPT_CHECK(p.dim() == first.dim() && p.dtype() == first.dtype(), "concat: {} {} does not match {} {}",
               shape_str(p.shape()), dtype_name(p.dtype()), shape_str(first.shape()), dtype_name(first.dtype()));
    for (int64_t i = 0; i < p.dim(); ++i)
      IAPT_CHECK(i == axis || p.shape()[i] == first.shape()[i], "concat on axis {}: shapes {} and {} differ", axis,
                 shape_str(p.shape()), shape_str(first.shape()));
    s[axis] += p.shape()[axis];
  }
  Tensor out = empty(s, first.dtype(), first.device());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    out.narrow(axis, at, p.shape()[axis]).copy_(p);
    at += p.shape()[axis];
  }
  return out;
}

}  // namespace iapt::ops
