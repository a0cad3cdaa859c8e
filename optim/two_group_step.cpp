#include "optim/two_group_step.h"

#include "core/error.h"
#include "optim/clip.h"

namespace iapt::optim {

double TwoGroupStep::step(const std::function<double()>& train_backward, const std::function<void()>& dev_backward) {
  auto clip = [&](std::vector<Variable> params) {
    if (max_grad_norm_ > 0) clip_grad_norm(params, max_grad_norm_);
  };
  main_.zero_grad();
  coefficients_.zero_grad();
  if (bilevel_) {
    IAPT_CHECK(dev_backward != nullptr, "bilevel step: a dev-batch loss is needed for the coefficients");
    dev_backward();
    clip(coefficients_.parameters());
    coefficients_.step();  // the main group's gradients from the held-out batch are discarded
    main_.zero_grad();
    coefficients_.zero_grad();
  }
  const double loss = train_backward();
  if (inspect_gradients) inspect_gradients();
  if (bilevel_) {
    coefficients_.zero_grad();  // and the coefficients' from the train batch
    clip(main_.parameters());
    main_.step();
    return loss;
  }
  std::vector<Variable> stepped = main_.parameters();  // joint: clipped together, stepped together
  for (auto& p : coefficients_.parameters()) stepped.push_back(p);
  clip(stepped);
  main_.step();
  coefficients_.step();
  return loss;
}

}  // namespace iapt::optim
