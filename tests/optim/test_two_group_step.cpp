#include <catch2/catch.hpp>

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
