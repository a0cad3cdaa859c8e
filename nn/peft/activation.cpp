#include "nn/peft/activation.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace iapt::nn {

std::vector<ActivationSpec> depth_pattern(const ActivationSpec& lower, const ActivationSpec& upper, int64_t layers) {
  std::vector<ActivationSpec> out;
  for (int64_t l = 0; l < layers; ++l) out.push_back(2 * l < layers ? lower : upper);
  return out;
}

Activation::Activation(const ActivationSpec& s, DType dtype) : spec(s) {
  if (s.kind == "rational") {
    const RationalOptions& o = s.rational;
    init_fit = fit_rational(o.init, o.deg_num, o.deg_den, o.version);
    numerator = register_parameter(
        "numerator", from_vector(init_fit.numerator, {static_cast<int64_t>(init_fit.numerator.size())}, dtype));
    denominator = register_parameter(
        "denominator", from_vector(init_fit.denominator, {static_cast<int64_t>(init_fit.denominator.size())}, dtype));
    return;
  }
  named_activation(s.kind, 0.0);  // throws naming the unknown activation and the known ones
}

Variable Activation::forward(const Variable& x) const {
  if (is_rational()) return iapt::rational(x, numerator, denominator, spec.rational.version);
  const std::string& k = spec.kind;
  if (k == "gelu") return gelu(x, GeluApprox::Erf);
  if (k == "relu") return relu(x);
  if (k == "leaky_relu") return sub(relu(x), mul_scalar(relu(neg(x)), 0.01));
  if (k == "tanh") return tanh(x);
  if (k == "sigmoid") return sigmoid(x);
  if (k == "swish") return silu(x);
  return x;  // identity
}

}  // namespace iapt::nn
