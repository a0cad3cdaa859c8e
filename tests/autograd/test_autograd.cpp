#include <catch2/catch.hpp>

#include "autograd/functions.h"
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

TEST_CASE("autograd: gradients accumulate into .grad across backward calls", "[autograd]") {
  Variable a(from_vector({1, 2, 3}, {3}, DType::F64), true);
  sum(mul_scalar(a, 2.0)).backward();
  CHECK(a.grad().to_vector() == std::vector<double>{2, 2, 2});
  sum(mul(a, a)).backward();  // adds 2a
  CHECK(a.grad().to_vector() == std::vector<double>{4, 6, 8});
  a.zero_grad();
  CHECK_FALSE(a.grad().defined());
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
