#include "nn/peft/ia3.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace iapt::nn {

Ia3Scale::Ia3Scale(int64_t features, bool input, DType dtype) : scales_input(input) {
  scale = register_parameter("ia3_l", ones(input ? Shape{1, features} : Shape{features, 1}, dtype));
}

Variable Ia3Scale::forward(const Linear& base, const Variable& x) const {
  const int64_t n = scale.data().numel();
  Variable v = reshape(scale, {n});  // broadcast over the last axis
  return scales_input ? base.base_forward(mul(x, v)) : mul(base.base_forward(x), v);
}

int64_t Ia3::attach(const Module& model, DType dtype) {
  int64_t count = 0;
  for (auto& [path, module] : model.named_modules()) {
    auto linear = std::dynamic_pointer_cast<Linear>(module);
    if (!linear) continue;
    const bool kv = path.ends_with(".k_proj") || path.ends_with(".v_proj");
    const bool ff = path.ends_with(".down_proj");
    if (!kv && !ff) continue;
    IAPT_CHECK(!linear->adapter, "ia3: {} already carries an adapter", path);
    auto s = std::make_shared<Ia3Scale>(ff ? linear->in_features : linear->out_features, ff, dtype);
    register_module(path, s);
    linear->adapter = s;
    ++count;
  }
  IAPT_CHECK(count > 0, "ia3: the model has no k_proj, v_proj or down_proj");
  return count;
}

}  // namespace iapt::nn
