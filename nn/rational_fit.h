#pragma once
// Initialising a rational activation: the coefficients of P/Q (any degrees, any denominator
// version) that best fit a named activation on an interval, by least squares computed here: a
// linearised fit (P - f * (Q - 1) = f) for a start, then Levenberg-Marquardt on the true residual.
#include <string>
#include <vector>

#include "core/backend.h"

namespace iapt::nn {

// gelu (erf form), relu, leaky_relu (slope 0.01), tanh, sigmoid, swish (x sigmoid(x)), identity.
double named_activation(const std::string& name, double x);
const std::vector<std::string>& named_activations();

struct RationalFit {
  std::vector<double> numerator;    // a_0..a_m
  std::vector<double> denominator;  // the version's n coefficients
  double rms_error = 0, max_error = 0;  // over the fitting grid
};

RationalFit fit_rational(const std::string& activation, int deg_num, int deg_den, RationalVersion version,
                         double lo = -3.0, double hi = 3.0, int points = 2001);

RationalVersion parse_rational_version(const std::string& name);  // "A", "B", "C" or "N"
const char* rational_version_name(RationalVersion v);

}  // namespace iapt::nn
