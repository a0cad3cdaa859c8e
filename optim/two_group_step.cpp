#include "optim/two_group_step.h"

#include <cmath>

#include "core/error.h"
#include "optim/clip.h"

namespace iapt::optim {

StepResult TwoGroupStep::step(const std::function<double()>& train_backward,
                              const std::function<void()>& dev_backward) {
  // Clips the group's gradients and steps its optimizers, unless `loss` or the gradient norm is not finite.
  auto step_group = [&](std::vector<Variable> params, std::initializer_list<Optimizer*> optimizers, double loss,
                        StepResult& result) {
    result.grad_norm = grad_norm(params);
    result.finite = std::isfinite(loss) && std::isfinite(result.grad_norm);
    if (!result.finite) return;
    clip_grad_norm_from(params, max_grad_norm_, result.grad_norm);
    for (Optimizer* o : optimizers) o->step();
  };
  StepResult result;
  main_.zero_grad();
  coefficients_.zero_grad();
  if (bilevel_) {
    IAPT_CHECK(dev_backward != nullptr, "bilevel step: a dev-batch loss is needed for the coefficients");
    dev_backward();
    step_group(coefficients_.parameters(), {&coefficients_}, 0.0, result);
    main_.zero_grad();  // the main group's gradients from the held-out batch are discarded
    coefficients_.zero_grad();
    if (!result.finite) return result;
  }
  result.loss = train_backward();
  if (inspect_gradients) inspect_gradients();
  if (bilevel_) {
    coefficients_.zero_grad();  // and the coefficients' from the train batch
    step_group(main_.parameters(), {&main_}, result.loss, result);
  } else {
    std::vector<Variable> stepped = main_.parameters();  // joint: clipped together, stepped together
    for (auto& p : coefficients_.parameters()) stepped.push_back(p);
    step_group(stepped, {&main_, &coefficients_}, result.loss, result);
  }
  if (!result.finite) {
    main_.zero_grad();
    coefficients_.zero_grad();
  }
  return result;
}

}  // namespace iapt::optim
