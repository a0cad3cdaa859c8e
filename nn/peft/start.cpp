#include "nn/peft/start.h"

#include "core/error.h"
#include "core/ops.h"

namespace iapt::nn {

const std::vector<std::string>& parameter_start_kinds() {
  static const std::vector<std::string> kinds{"default", "zero", "normal"};
  return kinds;
}

void apply_start(const Variable& p, const ParameterStart& start) {
  if (start.kind == "default") return;
  Tensor data = p.data();
  if (start.kind == "zero") {
    data.copy_(zeros(data.shape(), data.dtype(), data.device()));
    return;
  }
  IAPT_CHECK(start.kind == "normal", "unknown start '{}' (default, zero or normal)", start.kind);
  IAPT_CHECK(start.std > 0, "a normal start needs a positive std, got {}", start.std);
  data.copy_(ops::mul_scalar(randn(data.shape(), data.dtype()), start.std).to(data.device()));
}

}  // namespace iapt::nn
