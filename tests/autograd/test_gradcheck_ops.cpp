// Every differentiable op of the engine against central differences in f64, on random shapes
// that include broadcasting and non-contiguous (transposed, narrowed) inputs.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"

using namespace iapt;
using V = std::vector<Variable>;

namespace {

Tensor rn(const Shape& s) { return randn(s, DType::F64); }
// A [rows, cols] tensor laid out transposed in memory.
Tensor rn_t(int64_t rows, int64_t cols) { return rn({cols, rows}).transpose(0, 1); }
Tensor positive(const Shape& s) { return ops::add_scalar(rand(s, DType::F64), 0.2); }
Tensor away_from_zero(const Tensor& x) {
  return ops::add(x, ops::mul_scalar(ops::unary(UnaryOp::Sign, x), 0.2));
}

void expect_ok(const char* name, const GradcheckFn& f, const std::vector<Tensor>& inputs) {
  GradcheckReport r = gradcheck(f, inputs);
  if (std::getenv("IAPT_GRADCHECK_VERBOSE")) fmt::print("gradcheck {:<28} {}\n", name, r.to_string());
  INFO(name << ": " << r.to_string());
  CHECK(r.ok);
  CHECK(r.elements_checked > 0);
}

}  // namespace

TEST_CASE("gradcheck: matmul", "[gradcheck]") {
  manual_seed(1);
  expect_ok("matmul 2-D", [](const V& v) { return matmul(v[0], v[1]); }, {rn({3, 4}), rn({4, 5})});
  expect_ok("matmul batched x weight", [](const V& v) { return matmul(v[0], v[1], false, true); },
            {rn({2, 3, 4}).transpose(1, 2).contiguous().transpose(1, 2), rn({5, 4})});
  expect_ok("matmul 3-D x 2-D (rows folded)", [](const V& v) { return matmul(v[0], v[1]); }, {rn({2, 3, 4}), rn({4, 5})});
  expect_ok("matmul broadcast batch", [](const V& v) { return matmul(v[0], v[1]); }, {rn({2, 1, 3, 4}), rn({3, 4, 2})});
  expect_ok("matmul A^T B^T", [](const V& v) { return matmul(v[0], v[1], true, true); }, {rn({2, 4, 3}), rn({2, 5, 4})});
  expect_ok("matmul A^T with 2-D B", [](const V& v) { return matmul(v[0], v[1], true, false); },
            {rn({2, 4, 3}), rn({4, 5})});
  expect_ok("matmul non-contiguous", [](const V& v) { return matmul(v[0], v[1]); },
            {rn({3, 8}).narrow(1, 2, 4), rn_t(4, 2)});
}

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting", "[gradcheck]") {
  manual_seed(2);
  expect_ok("add", [](const V& v) { return add(v[0], v[1]); }, {rn({3, 1, 4}), rn_t(2, 4)});
  expect_ok("sub", [](const V& v) { return sub(v[0], v[1]); }, {rn({3, 1, 4}), rn({2, 4})});
  expect_ok("mul", [](const V& v) { return mul(v[0], v[1]); }, {rn({3, 1, 4}), rn_t(2, 4)});
  expect_ok("div", [](const V& v) { return div(v[0], v[1]); }, {rn({3, 1, 4}), positive({2, 4})});
  expect_ok("mul scalar-shaped", [](const V& v) { return mul(v[0], v[1]); }, {rn({3, 4}), rn({})});
  expect_ok("add_scalar, mul_scalar", [](const V& v) { return mul_scalar(add_scalar(v[0], 0.5), -1.5); }, {rn({5})});
}

TEST_CASE("gradcheck: unary ops", "[gradcheck]") {
  manual_seed(3);
  Tensor x = rn_t(4, 5);
  Tensor xp = positive({5, 4}).transpose(0, 1);
  Tensor xa = away_from_zero(rn({4, 5}));
  expect_ok("neg", [](const V& v) { return neg(v[0]); }, {x});
  expect_ok("exp", [](const V& v) { return exp(v[0]); }, {x});
  expect_ok("log", [](const V& v) { return log(v[0]); }, {xp});
  expect_ok("sqrt", [](const V& v) { return sqrt(v[0]); }, {xp});
  expect_ok("rsqrt", [](const V& v) { return rsqrt(v[0]); }, {xp});
  expect_ok("pow", [](const V& v) { return pow(v[0], 2.5); }, {xp});
  expect_ok("abs", [](const V& v) { return abs(v[0]); }, {xa});
  expect_ok("sign", [](const V& v) { return sign(v[0]); }, {xa});
  expect_ok("tanh", [](const V& v) { return tanh(v[0]); }, {x});
  expect_ok("sigmoid", [](const V& v) { return sigmoid(v[0]); }, {x});
  expect_ok("relu", [](const V& v) { return relu(v[0]); }, {xa});
  expect_ok("gelu erf", [](const V& v) { return gelu(v[0], GeluApprox::Erf); }, {x});
  expect_ok("gelu tanh", [](const V& v) { return gelu(v[0], GeluApprox::Tanh); }, {x});
  expect_ok("silu", [](const V& v) { return silu(v[0]); }, {x});
  expect_ok("swiglu (fused)", [](const V& v) { return swiglu(v[0], v[1]); }, {x, rn(x.shape())});
  // the fused kernel against the composition it replaces, on a strided gate
  Tensor g = rn({6, 5}).transpose(0, 1), u = rn({5, 6});
  Tensor fused = swiglu(Variable(g), Variable(u)).data(), composed = (silu(Variable(g)) * Variable(u)).data();
  CHECK(ops::amax(ops::unary(UnaryOp::Abs, ops::sub(fused, composed)), {}, false).item() < 1e-14);
}

TEST_CASE("gradcheck: sum, mean, max over axes", "[gradcheck]") {
  manual_seed(4);
  Tensor x = rn({3, 4, 5}).permute({2, 0, 1});  // [5, 3, 4], non-contiguous
  expect_ok("sum all", [](const V& v) { return sum(v[0]); }, {x});
  expect_ok("sum axes keepdim", [](const V& v) { return sum(v[0], {0, 2}, true); }, {x});
  expect_ok("sum axis", [](const V& v) { return sum(v[0], {-1}); }, {x});
  expect_ok("mean axis", [](const V& v) { return mean(v[0], {1}); }, {x});
  expect_ok("mean all keepdim", [](const V& v) { return mean(v[0], {}, true); }, {x});
  expect_ok("max axis", [](const V& v) { return amax(v[0], {2}); }, {x});
  expect_ok("max axes keepdim", [](const V& v) { return amax(v[0], {0, 1}, true); }, {x});
}

TEST_CASE("gradcheck: softmax and log_softmax", "[gradcheck]") {
  manual_seed(5);
  Tensor x = rn({3, 5, 4}).transpose(0, 2);  // [4, 5, 3]
  expect_ok("softmax axis 1", [](const V& v) { return softmax(v[0], 1); }, {x});
  expect_ok("softmax last axis", [](const V& v) { return softmax(v[0], -1); }, {x});
  expect_ok("log_softmax axis 0", [](const V& v) { return log_softmax(v[0], 0); }, {x});
  expect_ok("log_softmax last axis", [](const V& v) { return log_softmax(v[0], -1); }, {x});
}

TEST_CASE("gradcheck: cross-entropy with ignore-index", "[gradcheck]") {
  manual_seed(6);
  Tensor targets = from_ints({2, -100, 0, 4, -100, 1}, {6});
  expect_ok("cross_entropy", [&](const V& v) { return cross_entropy(v[0], targets, -100); }, {rn({5, 6}).transpose(0, 1)});
}

TEST_CASE("gradcheck: embedding with repeated ids", "[gradcheck]") {
  manual_seed(7);
  Tensor ids = from_ints({1, 3, 1, 0, 3, 3}, {2, 3});
  expect_ok("embedding", [&](const V& v) { return embedding(v[0], ids); }, {rn({5, 4})});
}

TEST_CASE("gradcheck: concat, split, stack", "[gradcheck]") {
  manual_seed(8);
  expect_ok("concat", [](const V& v) { return concat({v[0], v[1], v[0]}, 1); }, {rn({2, 3}), rn_t(2, 4)});
  expect_ok("split", [](const V& v) {
    auto parts = split(v[0], {2, 1, 4}, 1);
    return add(mul_scalar(parts[0], 2.0), narrow(parts[2], 1, 1, 2));
  }, {rn({3, 7})});
  expect_ok("stack", [](const V& v) { return stack({v[0], v[1]}, 1); }, {rn({2, 3}), rn_t(2, 3)});
}

TEST_CASE("gradcheck: where and masked_fill", "[gradcheck]") {
  manual_seed(9);
  Tensor cond = from_ints({1, 0, 1}, {3, 1});
  expect_ok("where", [&](const V& v) { return where(cond, v[0], v[1]); }, {rn({3, 4}), rn({1, 4})});
  Tensor mask = from_ints({1, 0, 0, 1, 0, 1, 1, 0}, {2, 4});
  expect_ok("masked_fill", [&](const V& v) { return masked_fill(v[0], mask, -3.0); }, {rn({3, 2, 4})});
}

TEST_CASE("gradcheck: RMSNorm and LayerNorm", "[gradcheck]") {
  manual_seed(10);
  Tensor x = rn({2, 6, 3}).transpose(1, 2);  // [2, 3, 6]
  expect_ok("rms_norm", [](const V& v) { return rms_norm(v[0], v[1], 1e-5); }, {x, rn({6})});
  expect_ok("layer_norm", [](const V& v) { return layer_norm(v[0], v[1], v[2], 1e-5); }, {x, rn({6}), rn({6})});
}

TEST_CASE("gradcheck: RoPE", "[gradcheck]") {
  manual_seed(11);
  Tensor pos_t = from_ints({0, 1, 5, 9}, {4});
  Tensor pos_bt = from_ints({3, 4, 5, 6, 0, 1, 2, 3}, {2, 4});
  Tensor x = rn({2, 4, 3, 8}).transpose(1, 2);  // [2, 3, 4, 8]
  expect_ok("rope shared positions", [&](const V& v) { return rope(v[0], pos_t, 10000.0); }, {x});
  expect_ok("rope per-row positions", [&](const V& v) { return rope(v[0], pos_bt, 500.0); }, {x});
}

TEST_CASE("gradcheck: scaled dot-product attention with causal and padding masks", "[gradcheck]") {
  manual_seed(12);
  Tensor pad = from_ints({1, 1, 1, 1, 0, 0, 1, 1}, {2, 4});
  expect_ok("attention causal", [](const V& v) { return scaled_dot_product_attention(v[0], v[1], v[2], true); },
            {rn({2, 2, 4, 3}), rn({2, 2, 4, 3}), rn({2, 2, 4, 3})});
  expect_ok("attention causal + padding",
            [&](const V& v) { return scaled_dot_product_attention(v[0], v[1], v[2], true, pad); },
            {rn({2, 2, 4, 3}), rn({2, 4, 2, 3}).transpose(1, 2), rn({2, 2, 4, 3})});
  expect_ok("attention queries after a prefix",
            [&](const V& v) { return scaled_dot_product_attention(v[0], v[1], v[2], true); },
            {rn({1, 2, 2, 3}), rn({1, 2, 5, 3}), rn({1, 2, 5, 3})});
}

TEST_CASE("gradcheck: dropout", "[gradcheck]") {
  manual_seed(13);
  expect_ok("dropout", [](const V& v) {
    Generator g(99);  // the same mask at every evaluation
    return dropout(v[0], 0.3, true, g);
  }, {rn({4, 6})});
}

TEST_CASE("gradcheck: views", "[gradcheck]") {
  manual_seed(14);
  expect_ok("reshape", [](const V& v) { return mul(reshape(v[0], {6, 2}), v[1]); }, {rn({3, 4}).transpose(0, 1), rn({2})});
  expect_ok("transpose", [](const V& v) { return mul(transpose(v[0], 0, 1), v[1]); }, {rn({3, 4}), rn({4, 3})});
  expect_ok("permute", [](const V& v) { return mul(permute(v[0], {2, 0, 1}), v[1]); }, {rn({2, 3, 4}), rn({4, 2, 3})});
  expect_ok("narrow", [](const V& v) { return exp(narrow(v[0], 1, 1, 2)); }, {rn({3, 4})});
  expect_ok("expand", [](const V& v) { return mul(expand(v[0], {2, 3, 4}), v[1]); }, {rn({3, 1}), rn({2, 3, 4})});
  expect_ok("unsqueeze/squeeze", [](const V& v) { return squeeze(mul(unsqueeze(v[0], 1), v[1]), 1); },
            {rn({3, 4}), rn({3, 1, 4})});
}

TEST_CASE("gradcheck: a composed LLaMA-style block with a loss", "[gradcheck]") {
  manual_seed(15);
  Tensor ids = from_ints({1, 2, 3, 0, 4, 4}, {2, 3});
  Tensor targets = from_ints({2, 3, -100, 4, 4, 1}, {6});
  Tensor pos = arange(3, DType::I64);
  expect_ok("block", [&](const V& v) {
    Variable x = embedding(v[0], ids);                              // [2, 3, 4]
    Variable a = rms_norm(x, v[1], 1e-5);
    auto heads = [&](const Variable& w) { return transpose(reshape(matmul(a, w, false, true), {2, 3, 2, 2}), 1, 2); };
    Variable att = scaled_dot_product_attention(rope(heads(v[2]), pos, 100.0), rope(heads(v[3]), pos, 100.0),
                                                heads(v[4]), true);
    Variable h = x + reshape(transpose(att, 1, 2), {2, 3, 4});
    Variable f = matmul(silu(matmul(h, v[5], false, true)), v[5]);  // [2, 3, 4]
    Variable logits = matmul(h + f, v[0], false, true);              // tied output embedding
    return cross_entropy(reshape(logits, {6, 5}), targets);
  }, {rn({5, 4}), rn({4}), rn({4, 4}), rn({4, 4}), rn({4, 4}), rn({3, 4})});
}

TEST_CASE("gradcheck: matmul with a frozen bf16 weight", "[gradcheck]") {
  manual_seed(21);
  // (panel edges are the fallback test's: tests/core/test_fallbacks.cpp)
  const Tensor w = randn({6, 20}, DType::BF16);
  expect_ok("x W^T, W bf16", [w](const V& v) { return matmul(v[0], Variable(w), false, true); }, {rn({2, 3, 20})});
  expect_ok("x W, W bf16", [w](const V& v) { return matmul(v[0], Variable(w)); }, {rn({3, 6})});
  expect_ok("x^T W, W bf16", [w](const V& v) { return matmul(v[0], Variable(w), true, false); }, {rn_t(6, 3)});
}
