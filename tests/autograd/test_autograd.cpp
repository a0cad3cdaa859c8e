#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/error.h"
#include "core/ops.h"

using namespace iapt;

TEST_CASE("autograd: a frozen weight gets no gradient and costs no weight-gradient GEMM", "[autograd]") {
  Variable x(randn({4, 5, 8}), true);
  Variable w_frozen(randn({6, 8}), false);
  Variable w_trained(randn({6, 8}), true);

  auto& gemms = ops::op_counters().gemm;
  SECTION("frozen") {
    Variable y = matmul(x, w_frozen, false, true);  // 1 forward GEMM
    Variable loss = sum(y);
    const int64_t before = gemms.load();
    loss.backward();
    CHECK(gemms.load() - before == 1);  // only dL/dx
    CHECK_FALSE(w_frozen.grad().defined());
    CHECK(x.grad().defined());
  }
  SECTION("trained, for contrast") {
    Variable y = matmul(x, w_trained, false, true);
    Variable loss = sum(y);
    const int64_t before = gemms.load();
    loss.backward();
    CHECK(gemms.load() - before == 2);  // dL/dx and dL/dW
    CHECK(w_trained.grad().shape() == Shape{6, 8});
  }
  SECTION("nothing requires grad: no graph at all") {
    Variable c(randn({4, 8}), false);
    Variable y = matmul(c, w_frozen, false, true);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
}

TEST_CASE("autograd: f32 operands meeting bf16 activations are rounded to bf16, and their gradients come back f32",
          "[autograd][half]") {
  Variable x(randn({4, 16}), true);                  // f32 input
  Variable h = cast(x, DType::BF16);                 // the activations, bf16
  Variable scale(ops::add_scalar(randn({16}), 1.0), true);  // a trainable f32 parameter
  Variable frozen(randn({8, 16}).to(DType::BF16), false);    // a frozen bf16 weight
  Variable trained(randn({8, 16}), true);                     // a trainable f32 matrix (LoRA's A)
  Variable y = mul(h, scale);
  CHECK(y.dtype() == DType::BF16);
  Variable z = add(matmul(y, frozen, false, true), matmul(y, trained, false, true));
  CHECK(z.dtype() == DType::BF16);
  // f32 activations with a frozen 2-D 16-bit weight compute in f32, as a bf16-weight backbone does
  CHECK(matmul(x, frozen, false, true).dtype() == DType::F32);
  sum(cast(z, DType::F32)).backward();
  for (const Variable* v : {&x, &scale, &trained}) REQUIRE(v->grad().dtype() == DType::F32);
  // d sum / d scale[j] = sum_i h[i, j] * c[j], c[j] = sum_o (frozen + trained)[o, j] rounded, with
  // each product and sum rounded once: against the f64 result within bf16's 2^-8 per rounding
  const Tensor c = ops::sum(ops::add(frozen.data().to(DType::F64), trained.data().to(DType::BF16).to(DType::F64)), {0});
  const Tensor want = ops::mul(ops::sum(h.data().to(DType::F64), {0}), c);
  const Tensor err = ops::sub(scale.grad().to(DType::F64), want);
  const double rel = std::sqrt(ops::sum(ops::mul(err, err)).item() / ops::sum(ops::mul(want, want)).item());
  INFO("scale's gradient against f64: " << rel);
  CHECK(rel < 3e-2);
  CHECK(rel > 0);  // it went through bf16
}

TEST_CASE("autograd: gradients accumulate into .grad across backward calls", "[autograd]") {
  Variable a(from_vector({1, 2, 3}, {3}, DType::F64), true);
  sum(mul_scalar(a, 2.0)).backward();
  CHECK(a.grad().to_vector() == std::vector<double>{2, 2, 2});
  sum(mul(a, a)).backward();  // adds 2a
  CHECK(a.grad().to_vector() == std::vector<double>{4, 6, 8});
  a.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("autograd: a tensor changed in place after an op saved it stops backward, naming the op", "[autograd]") {
  Variable a(from_vector({1, 2}, {2}, DType::F64), true);
  Variable w(from_vector({3, 4}, {2}, DType::F64), false);
  SECTION("an input: mul's backward would read the new w and give a wrong gradient") {
    Variable loss = sum(mul(a, w));
    w.data().fill_(0.0);
    CHECK_THROWS_WITH(loss.backward(),
                      Catch::Contains("backward of 'mul': its input 1 was changed in place after the op ran"));
    CHECK_FALSE(a.grad().defined());
  }
  SECTION("the output: exp's backward reads exp(a) back") {
    Variable e = exp(a);
    e.data().copy_(zeros({2}, DType::F64));
    CHECK_THROWS_WITH(e.backward(ones({2}, DType::F64)),
                      Catch::Contains("backward of 'exp': its output was changed in place"));
    // through a later op, the first node backward reaches names it as that op's input
    Variable loss = sum(exp(a));
    loss.grad_fn()->inputs[0].fn->saved.back().storage.lock()->bump_version();
    CHECK_THROWS_WITH(loss.backward(), Catch::Contains("backward of 'sum': its input 0 was changed in place"));
  }
  SECTION("a change after backward is fine, and the next graph sees it") {
    sum(mul(a, w)).backward();
    w.data().fill_(10.0);
    sum(mul(a, w)).backward();
    CHECK(a.grad().to_vector() == std::vector<double>{13, 14});
  }
  SECTION("a view shares its storage's version") {
    Variable loss = sum(mul(a, w));
    w.data().narrow(0, 1, 1).fill_(5.0);
    CHECK_THROWS_WITH(loss.backward(), Catch::Contains("its input 1 was changed in place"));
  }
}

TEST_CASE("autograd: a variable used twice gets both contributions", "[autograd]") {
  Variable a(from_vector({3}, {1}, DType::F64), true);
  Variable b = mul(a, a);        // a^2
  Variable c = add(b, mul(b, a));  // a^2 + a^3
  c.backward(ones({1}, DType::F64));
  CHECK(a.grad().item() == Approx(2 * 3 + 3 * 9));
}

TEST_CASE("autograd: the graph is freed after backward unless retained", "[autograd]") {
  Variable a(from_vector({1, 2}, {2}, DType::F64), true);
  Variable loss = sum(exp(a));
  loss.backward(/*retain_graph=*/true);
  loss.backward();  // the retained graph runs again
  CHECK(a.grad().at({0}) == Approx(2 * std::exp(1.0)));
  CHECK_THROWS_WITH(loss.backward(), Catch::Contains("already freed"));
  CHECK(loss.grad_fn()->inputs.empty());
}

TEST_CASE("autograd: backward with an explicit output gradient", "[autograd]") {
  Variable a(from_vector({1, 2, 3}, {3}, DType::F64), true);
  Variable y = mul_scalar(a, 3.0);
  y.backward(from_vector({1, 0, -1}, {3}, DType::F64));
  CHECK(a.grad().to_vector() == std::vector<double>{3, 0, -3});
  Variable z = mul_scalar(a, 2.0);
  CHECK_THROWS_WITH(z.backward(), Catch::Contains("give an output gradient"));
}

TEST_CASE("autograd: no-grad guard records nothing", "[autograd]") {
  Variable a(randn({3}), true);
  {
    NoGradGuard guard;
    Variable y = exp(a);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(exp(a).requires_grad());
}

TEST_CASE("autograd: dropout is seeded, unbiased, and its gradient uses the same mask", "[autograd]") {
  Generator g1(5), g2(5);
  Variable x(ones({10000}, DType::F64), true);
  Variable y1 = dropout(x, 0.25, true, g1);
  Variable y2 = dropout(x, 0.25, true, g2);
  CHECK(y1.data().to_vector() == y2.data().to_vector());
  auto v = y1.data().to_vector();
  int64_t zeros_seen = 0;
  double total = 0;
  for (double e : v) {
    zeros_seen += e == 0.0;
    if (e != 0.0) CHECK(e == Approx(1.0 / 0.75));
    total += e;
  }
  CHECK(static_cast<double>(zeros_seen) / 10000.0 == Approx(0.25).margin(0.02));
  CHECK(total / 10000.0 == Approx(1.0).margin(0.03));
  sum(y1).backward();
  CHECK(x.grad().to_vector() == v);  // d(x * mask)/dx = mask, and x = 1
  Variable same = dropout(x, 0.25, false, g1);
  CHECK(same.impl() == x.impl());  // evaluation: identity
}

TEST_CASE("autograd: a failed backward leaves no partial gradient behind", "[autograd]") {
  Variable x(from_vector({2}, {1}, DType::F64), true);
  Variable y = mul_scalar(x, 3.0);
  bool fail = true;
  Variable z = make_result(y.data().clone(), {y}, "flaky", [&fail](const Tensor& g, const std::vector<bool>&) {
    if (fail) throw Error("flaky backward");
    return std::vector<Tensor>{g};
  });
  Variable w = add(z, y);  // y receives a gradient before 'flaky' runs
  CHECK_THROWS_WITH(w.backward(ones({1}, DType::F64), true), Catch::Contains("flaky backward"));
  fail = false;
  w.backward(ones({1}, DType::F64));
  CHECK(x.grad().item() == Approx(6.0));  // 3 through y directly, 3 through 'flaky'
}

TEST_CASE("autograd: a graph does not keep activations its backward does not need", "[autograd]") {
  Variable x(randn({1000}), true);
  std::weak_ptr<Storage> middle;
  Variable out;
  {
    Variable a = add_scalar(x, 1.0);  // add_scalar saves nothing
    middle = a.data().storage();
    out = sum(add_scalar(a, 2.0));
  }
  CHECK(middle.expired());
  out.backward();
  CHECK(x.grad().to_vector() == std::vector<double>(1000, 1.0));
}

TEST_CASE("autograd: a very deep graph is destroyed without recursion", "[autograd]") {
  Variable x(randn({1}), true);
  Variable y = x;
  for (int i = 0; i < 300000; ++i) y = add_scalar(y, 1.0);
  y = Variable();  // must not overflow the stack
  CHECK(x.requires_grad());
}

TEST_CASE("autograd: misuse gives errors, not crashes", "[autograd]") {
  Variable undefined;
  Variable x(randn({2, 3}), true);
  CHECK_THROWS_WITH(add(undefined, x), Catch::Contains("default-constructed"));
  CHECK_THROWS_WITH(permute(x, {1}), Catch::Contains("permute: order [1] for a tensor of rank 2"));
  Variable y = sum(x);
  CHECK_THROWS_WITH(y.backward(ones({}, DType::F64)), Catch::Contains("dtype f64 for an output of dtype f32"));
  CHECK_THROWS_WITH(embedding(Variable(randn({4, 2}), true), from_ints({0, 4}, {2})),
                    Catch::Contains("embedding: id 4 at flat position 1 is outside the vocabulary [0, 4)"));
  CHECK_THROWS_WITH(cross_entropy(Variable(randn({2, 3}), true), from_ints({1, 3}, {2})),
                    Catch::Contains("cross_entropy: target 3 at row 1 is outside [0, 3)"));
  CHECK_THROWS_WITH(rms_norm(x, Variable(ones({3}, DType::F64)), 1e-5), Catch::Contains("rms_norm: x is f32, weight is f64"));
}

TEST_CASE("autograd: cross-entropy with every target ignored is zero with a zero gradient", "[autograd]") {
  Variable logits(randn({3, 4}, DType::F64), true);
  Variable loss = cross_entropy(logits, from_ints({-100, -100, -100}, {3}));
  CHECK(loss.item() == 0.0);
  loss.backward();
  CHECK(logits.grad().to_vector() == std::vector<double>(12, 0.0));
}

TEST_CASE("autograd: amax shares the gradient among tied maxima", "[autograd]") {
  Variable x(from_vector({1, 3, 3, 2}, {4}, DType::F64), true);
  Variable m = amax(x);
  CHECK(m.item() == 3.0);
  m.backward();
  CHECK(x.grad().to_vector() == std::vector<double>{0, 0.5, 0.5, 0});
  CHECK(std::isnan(ops::amax(from_vector({1, std::nan(""), 2}, {3})).item()));  // NaN propagates
}

TEST_CASE("autograd: zero-dimensional and empty tensors", "[autograd]") {
  Variable s(scalar_tensor(3.0, DType::F64), true);
  Variable y = mul(exp(s), s);
  y.backward();
  CHECK(s.grad().item() == Approx(std::exp(3.0) * 4.0));
  Tensor e = ops::matmul(zeros({2, 3, 0}), zeros({0, 4}));
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.to_vector() == std::vector<double>(24, 0.0));
}

TEST_CASE("autograd: gradcheck fails on NaN instead of passing quietly", "[autograd]") {
  GradcheckReport r = gradcheck([](const std::vector<Variable>& v) { return log(v[0]); },
                                {from_vector({-1.0, 2.0}, {2}, DType::F64)});
  CHECK_FALSE(r.ok);
  CHECK_THROWS_WITH(gradcheck([](const std::vector<Variable>& v) { return exp(v[0]); },
                              {from_vector({1.0}, {1, 1}, DType::F64).expand({3, 1})}),
                    Catch::Contains("broadcast"));
}
