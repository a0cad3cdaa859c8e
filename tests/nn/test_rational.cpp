#include <catch2/catch.hpp>
#include <cstdlib>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"
#include "nn/rational.h"

using namespace iapt;

namespace {
// Inputs in [-3, 3] kept away from 0, where |x| (version A) and |S| (B: S(0) = 0) have kinks.
Tensor inputs(const Shape& s) {
  Tensor u = ops::add_scalar(ops::mul_scalar(rand(s, DType::F64), 2.8), 0.2);  // [0.2, 3)
  Tensor sign = ops::unary(UnaryOp::Sign, randn(s, DType::F64));
  return ops::mul(u, sign);
}
Tensor perturbed(const std::vector<double>& v) {
  Tensor t = from_vector(v, {static_cast<int64_t>(v.size())}, DType::F64);
  return ops::add(t, ops::mul_scalar(randn(t.shape(), DType::F64), 0.05));
}
}  // namespace

TEST_CASE("rational: gradcheck of x and both coefficient vectors, every version and degree", "[nn][rational]") {
  manual_seed(21);
  for (auto v : {RationalVersion::A, RationalVersion::B, RationalVersion::C, RationalVersion::N})
    for (auto [m, n] : std::vector<std::pair<int, int>>{{3, 2}, {5, 4}, {6, 5}}) {
      nn::RationalFit fit = nn::fit_rational("gelu", m, n, v);
      GradcheckReport r = gradcheck(
          [v](const std::vector<Variable>& in) { return rational(in[0], in[1], in[2], v); },
          {inputs({5, 7}), perturbed(fit.numerator), perturbed(fit.denominator)});
      INFO(nn::rational_version_name(v) << " (" << m << "," << n << "): " << r.to_string());
      if (std::getenv("IAPT_GRADCHECK_VERBOSE"))
        fmt::print("gradcheck rational {} ({},{}) {}\n", nn::rational_version_name(v), m, n, r.to_string());
      CHECK(r.ok);
    }
}

TEST_CASE("rational: least-squares fits approximate their activations on [-3, 3]", "[nn][rational]") {
  for (auto v : {RationalVersion::A, RationalVersion::B, RationalVersion::C, RationalVersion::N}) {
    nn::RationalFit gelu = nn::fit_rational("gelu", 6, 5, v);
    CHECK(gelu.max_error < 2e-4);
    CHECK(nn::fit_rational("identity", 3, 2, v).max_error < 1e-12);
    CHECK(nn::fit_rational("relu", 6, 5, v).max_error < 0.05);
    CHECK(nn::fit_rational("tanh", 6, 5, v).max_error < 1e-4);
    for (const auto& name : nn::named_activations()) CHECK(std::isfinite(nn::fit_rational(name, 5, 4, v).rms_error));
  }
  // the module evaluates its fit: compare with the activation at a few points
  nn::Rational act({6, 5, RationalVersion::B, "swish"}, DType::F64);
  Tensor x = from_vector({-2.5, -1, 0, 0.5, 2.9}, {5}, DType::F64);
  auto y = act.forward(Variable(x)).data().to_vector();
  for (int i = 0; i < 5; ++i) CHECK(y[i] == Approx(nn::named_activation("swish", x.at({i}))).margin(1e-6));
  CHECK_THROWS_WITH(nn::fit_rational("softplus", 3, 2, RationalVersion::B), Catch::Contains("unknown activation 'softplus'"));
}
