#pragma once
// A learned rational activation R(x) = P(x) / Q(x) with its own coefficients (one set per
// IAPT layer), initialised by fitting a named activation on [-3, 3].
#include <string>

#include "autograd/functions.h"
#include "nn/module.h"
#include "nn/rational_fit.h"

namespace iapt::nn {

struct RationalOptions {
  int deg_num = 6;
  int deg_den = 5;
  RationalVersion version = RationalVersion::B;
  std::string init = "gelu";
};

class Rational : public Module {
 public:
  explicit Rational(const RationalOptions& options, DType dtype = DType::F32);
  Variable forward(const Variable& x) const { return rational(x, numerator, denominator, options.version); }

  Variable numerator;    // [deg_num + 1]
  Variable denominator;  // [deg_den]
  RationalOptions options;
  RationalFit init_fit;  // the fit the coefficients started from, with its error
};

}  // namespace iapt::nn
