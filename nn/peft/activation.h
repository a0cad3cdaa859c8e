#pragma once
// The activation g_l of an IAPT generator: a learned rational function, or a fixed named one
// (the activation ablation of the paper).
#include <memory>
#include <string>

#include "nn/rational.h"

namespace iapt::nn {

struct ActivationSpec {
  std::string kind = "rational";  // "rational" or one of named_activations()
  RationalOptions rational;        // when kind == "rational"
};

// Per-depth patterns: `lower` for the first half of the generator layers, `upper` for the rest.
std::vector<ActivationSpec> depth_pattern(const ActivationSpec& lower, const ActivationSpec& upper, int64_t layers);

class Activation : public Module {
 public:
  explicit Activation(const ActivationSpec& spec, DType dtype = DType::F32);
  Variable forward(const Variable& x) const;
  bool is_rational() const { return spec.kind == "rational"; }

  ActivationSpec spec;
  Variable numerator, denominator;  // the rational's coefficients (kind == "rational")
  RationalFit init_fit;             // what they started from, with its error
};

}  // namespace iapt::nn
