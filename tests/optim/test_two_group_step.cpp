#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "optim/two_group_step.h"

using namespace iapt;

namespace {
// Adam's first step moves each parameter by lr against the sign of its gradient.
struct Toy {
  Variable a{from_vector({1.0}, {1}, DType::F64), true};  // the main group
  Variable c{from_vector({2.0}, {1}, DType::F64), true};  // the coefficients
  Variable train() const { return mul(a, c); }             // d/da = c > 0, d/dc = a > 0
  Variable dev() const { return neg(mul(a, c)); }          // the opposite signs
};
double backward(const Variable& loss) {
  loss.backward();
  return loss.item();
}
}  // namespace

TEST_CASE("two-group step: joint steps both groups on the train loss", "[optim]") {
  Toy t;
  optim::AdamW main(std::vector<Variable>{t.a}, {.lr = 0.1}), coefficients(std::vector<Variable>{t.c}, {.lr = 0.01});
  optim::TwoGroupStep s(main, coefficients, false);
  s.step([&] { return backward(t.train()); });
  CHECK(t.a.item() == Approx(1.0 - 0.1));
  CHECK(t.c.item() == Approx(2.0 - 0.01));
}

TEST_CASE("two-group step: bilevel steps the coefficients on the dev loss, the rest on the train loss", "[optim]") {
  Toy t;
  optim::AdamW main(std::vector<Variable>{t.a}, {.lr = 0.1}), coefficients(std::vector<Variable>{t.c}, {.lr = 0.01});
  optim::TwoGroupStep s(main, coefficients, true);
  s.step([&] { return backward(t.train()); }, [&] { backward(t.dev()); });
  CHECK(t.c.item() == Approx(2.0 + 0.01));  // against the dev gradient, which is negative
  CHECK(t.a.item() == Approx(1.0 - 0.1));   // against the train gradient
  CHECK_FALSE(t.c.grad().defined());  // the train batch's gradient of the coefficients is not kept
  CHECK_THROWS_WITH(s.step([&] { return backward(t.train()); }), Catch::Contains("a dev-batch loss is needed"));
}

TEST_CASE("two-group step: a NaN or infinite loss or gradient steps nothing, in both modes", "[optim]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (bool bilevel : {false, true}) {
    INFO("bilevel " << bilevel);
    Toy t;
    optim::AdamW main(std::vector<Variable>{t.a}, {.lr = 0.1}), coefficients(std::vector<Variable>{t.c}, {.lr = 0.01});
    optim::TwoGroupStep s(main, coefficients, bilevel);
    auto dev = [&] { backward(t.dev()); };
    // a NaN loss with finite gradients
    optim::StepResult r = s.step([&] { return backward(t.train()) * nan; }, dev);
    CHECK_FALSE(r.finite);
    CHECK(std::isnan(r.loss));
    // an infinite gradient (the loss scaled by inf) with its loss reported as finite
    r = s.step([&] { backward(mul_scalar(t.train(), inf)); return 1.0; }, dev);
    CHECK_FALSE(r.finite);
    CHECK(std::isinf(r.grad_norm));
    if (!bilevel) {  // (bilevel: the coefficients stepped on their own, finite batch first)
      CHECK(t.c.item() == 2.0);
    }
    CHECK(t.a.item() == 1.0);
    CHECK_FALSE(t.a.grad().defined());
    // and a finite step afterwards moves as a first step does: the skipped ones left no moments behind
    r = s.step([&] { return backward(t.train()); }, dev);
    CHECK(r.finite);
    CHECK(r.grad_norm > 0);
    CHECK(t.a.item() == Approx(1.0 - 0.1));
  }
}
