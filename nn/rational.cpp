#include "nn/rational.h"

#include "autograd/functions.h"

namespace iapt::nn {

Rational::Rational(const RationalOptions& o, DType dtype) : options(o) {
  init_fit = fit_rational(o.init, o.deg_num, o.deg_den, o.version);
  numerator = register_parameter(
      "numerator", from_vector(init_fit.numerator, {static_cast<int64_t>(init_fit.numerator.size())}, dtype));
  denominator = register_parameter(
      "denominator", from_vector(init_fit.denominator, {static_cast<int64_t>(init_fit.denominator.size())}, dtype));
}

}  // namespace iapt::nn
