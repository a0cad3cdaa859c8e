// Every op, and a pre-norm attention + SwiGLU block with a cross-entropy loss, against fixtures
// written by PyTorch (tests/reference/make_fixtures.py, committed in tests/fixtures). Inputs are
// f32; outputs and gradients must agree to f32 tolerances. No Python is needed to run this.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <limits>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/safetensors.h"

using namespace iapt;

namespace {

constexpr double kRtol = 1e-4, kAtol = 1e-5;

const SafetensorsFile& fixture(const std::string& name) {
  static std::map<std::string, SafetensorsFile> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_safetensors(std::string(IAPT_FIXTURE_DIR) + "/" + name)).first;
  return it->second;
}

struct Worst {
  double rel = 0;
  std::string where;
};
Worst& worst() {
  static Worst w;
  return w;
}

// allclose(got, want, rtol, atol), reporting the worst element; the relative error is tracked over
// elements whose magnitude is above 1e-3 (below that only the absolute tolerance is meaningful).
void expect_close(const std::string& what, const Tensor& got, const Tensor& want) {
  INFO(what);
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  auto g = got.to_vector(), w = want.to_vector();
  double worst_score = 0, worst_rel = 0;
  size_t at = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::abs(g[i] - w[i]);
    const double score = std::isfinite(g[i]) && std::isfinite(w[i]) ? err / (kAtol + kRtol * std::abs(w[i]))
                                                                     : std::numeric_limits<double>::infinity();
    if (std::abs(w[i]) > 1e-3) worst_rel = std::max(worst_rel, err / std::abs(w[i]));
    if (score > worst_score) worst_score = score, at = i;
  }
  if (worst_rel > worst().rel) worst() = {worst_rel, what};
  if (std::getenv("IAPT_FIXTURE_VERBOSE")) fmt::print("{:<28} worst rel {:.3g}\n", what, worst_rel);
  INFO("worst element " << at << ": got " << g[at] << ", want " << w[at]);
  CHECK(worst_score <= 1.0);
}

using OpFn = std::function<std::vector<Variable>(const std::vector<Variable>& floats, const std::vector<Tensor>& ints)>;

// Runs case `name`: in0.. are the inputs (f32 ones become variables that require grad, i64 ones
// are passed as tensors, in input order); the outputs are checked, then backward with gout.
void check_case(const std::string& name, const OpFn& fn) {
  const auto& f = fixture("ops.safetensors").tensors;
  std::vector<Variable> floats;
  std::vector<Tensor> ints;
  std::vector<int> float_index;
  for (int i = 0;; ++i) {
    auto it = f.find(name + ".in" + std::to_string(i));
    if (it == f.end()) break;
    if (it->second.dtype() == DType::I64) {
      ints.push_back(it->second);
    } else {
      floats.emplace_back(it->second.clone(), true);
      float_index.push_back(i);
    }
  }
  REQUIRE(!floats.empty());
  std::vector<Variable> outs = fn(floats, ints);
  std::vector<Variable> terms;
  for (size_t k = 0; k < outs.size(); ++k) {
    const std::string suffix = outs.size() == 1 ? "" : std::to_string(k);
    expect_close(name + ".out" + suffix, outs[k].data(), f.at(name + ".out" + suffix));
    Tensor gout = f.at(name + ".gout" + suffix);
    terms.push_back(sum(mul(outs[k], Variable(gout))));
  }
  Variable loss = terms[0];
  for (size_t k = 1; k < terms.size(); ++k) loss = add(loss, terms[k]);
  loss.backward();
  for (size_t j = 0; j < floats.size(); ++j) {
    const std::string key = name + ".grad" + std::to_string(float_index[j]);
    expect_close(key, floats[j].grad(), f.at(key));
  }
}

std::vector<Variable> one(Variable v) { return {std::move(v)}; }

}  // namespace

TEST_CASE("torch fixtures: matmul", "[reference]") {
  check_case("matmul", [](auto& v, auto&) { return one(matmul(v[0], v[1])); });
  check_case("matmul_bcast", [](auto& v, auto&) { return one(matmul(v[0], v[1])); });
  check_case("matmul_tt", [](auto& v, auto&) { return one(matmul(v[0], v[1], true, true)); });
}

TEST_CASE("torch fixtures: broadcasting binary ops", "[reference]") {
  check_case("add", [](auto& v, auto&) { return one(add(v[0], v[1])); });
  check_case("sub", [](auto& v, auto&) { return one(sub(v[0], v[1])); });
  check_case("mul", [](auto& v, auto&) { return one(mul(v[0], v[1])); });
  check_case("div", [](auto& v, auto&) { return one(div(v[0], v[1])); });
}

TEST_CASE("torch fixtures: unary ops", "[reference]") {
  check_case("neg", [](auto& v, auto&) { return one(neg(v[0])); });
  check_case("exp", [](auto& v, auto&) { return one(exp(v[0])); });
  check_case("tanh", [](auto& v, auto&) { return one(tanh(v[0])); });
  check_case("sigmoid", [](auto& v, auto&) { return one(sigmoid(v[0])); });
  check_case("relu", [](auto& v, auto&) { return one(relu(v[0])); });
  check_case("gelu_erf", [](auto& v, auto&) { return one(gelu(v[0], GeluApprox::Erf)); });
  check_case("gelu_tanh", [](auto& v, auto&) { return one(gelu(v[0], GeluApprox::Tanh)); });
  check_case("silu", [](auto& v, auto&) { return one(silu(v[0])); });
  check_case("abs", [](auto& v, auto&) { return one(abs(v[0])); });
  check_case("sign", [](auto& v, auto&) { return one(sign(v[0])); });
  check_case("log", [](auto& v, auto&) { return one(log(v[0])); });
  check_case("sqrt", [](auto& v, auto&) { return one(sqrt(v[0])); });
  check_case("rsqrt", [](auto& v, auto&) { return one(rsqrt(v[0])); });
  check_case("pow", [](auto& v, auto&) { return one(pow(v[0], 2.5)); });
}

TEST_CASE("torch fixtures: reductions and softmax", "[reference]") {
  check_case("sum_keepdim", [](auto& v, auto&) { return one(sum(v[0], {0, 2}, true)); });
  check_case("sum_all", [](auto& v, auto&) { return one(sum(v[0])); });
  check_case("mean", [](auto& v, auto&) { return one(mean(v[0], {1})); });
  check_case("max", [](auto& v, auto&) { return one(amax(v[0], {2})); });
  check_case("softmax", [](auto& v, auto&) { return one(softmax(v[0], 1)); });
  check_case("log_softmax", [](auto& v, auto&) { return one(log_softmax(v[0], -1)); });
}

TEST_CASE("torch fixtures: cross-entropy and embedding", "[reference]") {
  check_case("cross_entropy", [](auto& v, auto& i) { return one(cross_entropy(v[0], i[0], -100)); });
  check_case("embedding", [](auto& v, auto& i) { return one(embedding(v[0], i[0])); });
}

TEST_CASE("torch fixtures: concat, stack, split, where, masked_fill", "[reference]") {
  check_case("concat", [](auto& v, auto&) { return one(concat({v[0], v[1]}, 1)); });
  check_case("stack", [](auto& v, auto&) { return one(stack({v[0], v[1]}, 0)); });
  check_case("split", [](auto& v, auto&) { return split(v[0], {3, 4}, 1); });
  check_case("where", [](auto& v, auto& i) { return one(where(i[0], v[0], v[1])); });
  check_case("masked_fill", [](auto& v, auto& i) { return one(masked_fill(v[0], i[0], -2.0)); });
}

TEST_CASE("torch fixtures: norms, RoPE, attention", "[reference]") {
  check_case("rmsnorm", [](auto& v, auto&) { return one(rms_norm(v[0], v[1], 1e-5)); });
  check_case("layernorm", [](auto& v, auto&) { return one(layer_norm(v[0], v[1], v[2], 1e-5)); });
  check_case("rope", [](auto& v, auto& i) { return one(rope(v[0], i[0], 10000.0)); });
  check_case("sdpa", [](auto& v, auto& i) { return one(scaled_dot_product_attention(v[0], v[1], v[2], true, i[0])); });
}

TEST_CASE("torch fixtures: dropout mask from an independent Philox", "[reference]") {
  check_case("dropout", [](auto& v, auto&) {
    Generator g(99);
    return one(dropout(v[0], 0.3, true, g));
  });
}

TEST_CASE("torch fixtures: pre-norm attention + SwiGLU block with cross-entropy", "[reference]") {
  const auto& f = fixture("block.safetensors").tensors;
  auto w = [&](const char* name) { return Variable(f.at(name).clone(), true); };
  Variable embed = w("embed"), attn_norm = w("attn_norm"), wq = w("wq"), wk = w("wk"), wv = w("wv"), wo = w("wo"),
           mlp_norm = w("mlp_norm"), w_gate = w("w_gate"), w_up = w("w_up"), w_down = w("w_down"),
           final_norm = w("final_norm"), lm_head = w("lm_head");
  const Tensor ids = f.at("ids"), mask = f.at("attention_mask"), labels = f.at("labels");
  const int64_t b = ids.size(0), t = ids.size(1), d = embed.size(1), heads = 4, hd = d / heads;
  const double eps = 1e-5;
  const Tensor positions = arange(t, DType::I64);

  Variable x = embedding(embed, ids);  // [B, T, d]
  Variable x_leaf(x.data(), true);     // the block's input, to read its gradient
  Variable a = rms_norm(x_leaf, attn_norm, eps);
  auto heads_of = [&](const Variable& wt) {  // [B, H, T, hd]
    return transpose(reshape(matmul(a, wt, false, true), {b, t, heads, hd}), 1, 2);
  };
  Variable q = rope(heads_of(wq), positions, 10000.0), k = rope(heads_of(wk), positions, 10000.0);
  Variable att = scaled_dot_product_attention(q, k, heads_of(wv), true, mask);
  Variable h = x_leaf + matmul(reshape(transpose(att, 1, 2), {b, t, d}), wo, false, true);
  Variable m = rms_norm(h, mlp_norm, eps);
  Variable ffn = matmul(silu(matmul(m, w_gate, false, true)) * matmul(m, w_up, false, true), w_down, false, true);
  Variable logits = matmul(rms_norm(h + ffn, final_norm, eps), lm_head, false, true);  // [B, T, V]
  Variable loss = cross_entropy(reshape(logits, {b * t, -1}), labels.reshape({b * t}), -100);

  expect_close("block logits", logits.data(), f.at("logits"));
  expect_close("block loss", loss.data(), f.at("loss"));
  loss.backward();
  x.backward(x_leaf.grad());  // route the block input's gradient into the embedding table
  expect_close("block grad.x", x_leaf.grad(), f.at("grad.x"));
  for (auto [name, var] : std::vector<std::pair<const char*, Variable>>{
           {"embed", embed}, {"attn_norm", attn_norm}, {"wq", wq}, {"wk", wk}, {"wv", wv}, {"wo", wo},
           {"mlp_norm", mlp_norm}, {"w_gate", w_gate}, {"w_up", w_up}, {"w_down", w_down},
           {"final_norm", final_norm}, {"lm_head", lm_head}})
    expect_close(std::string("block grad.") + name, var.grad(), f.at(std::string("grad.") + name));
  if (std::getenv("IAPT_FIXTURE_VERBOSE")) fmt::print("worst relative error: {:.3g} at {}\n", worst().rel, worst().where);
}
