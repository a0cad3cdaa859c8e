#pragma once
// How a method's generated parts start (YAML method.start). A start decides how far the model at
// step 0 is from the frozen backbone: a zero up-projection makes IAPT's soft tokens zero vectors,
// which are still not invisible (their keys score 0 and take attention mass from the text), while
// the default uniform start makes prefixes that enter the layer's norm at unit scale whatever the
// weights' size.
#include <string>

#include "nn/linear.h"

namespace iapt::nn {

struct ParameterStart {
  std::string kind = "default";  // default (the part's own: uniform +-1/sqrt(fan_in) as Linear), zero, normal
  double std = 0.02;             // normal only
};

const std::vector<std::string>& parameter_start_kinds();  // default, zero, normal

// Overwrites `p` [..., fan_in] with the start; "default" keeps the values it was made with.
void apply_start(const Variable& p, const ParameterStart& start);

}  // namespace iapt::nn
