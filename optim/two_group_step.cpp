#include "optim/two_group_step.h"

#include "core/error.h"

namespace iapt::optim {

TwoGroupStep::TwoGroupStep(std::vector<Variable> main, AdamWOptions main_options, std::vector<Variable> coefficients,
                           AdamWOptions coefficient_options, bool bilevel)
    : main_(std::move(main), main_options), coefficients_(std::move(coefficients), coefficient_options),
      bilevel_(bilevel) {}

double TwoGroupStep::step(const std::function<Variable()>& train_loss, const std::function<Variable()>& dev_loss) {
  main_.zero_grad();
  coefficients_.zero_grad();
  if (!bilevel_) {
    Variable loss = train_loss();
    loss.backward();
    main_.step();
    coefficients_.step();
    return loss.item();
  }
  IAPT_CHECK(dev_loss != nullptr, "bilevel step: a dev-batch loss is needed for the coefficients");
  Variable dev = dev_loss();
  dev.backward();
  coefficients_.step();  // the main group's gradients from the dev batch are discarded
  main_.zero_grad();
  coefficients_.zero_grad();
  Variable loss = train_loss();
  loss.backward();
  main_.step();  // and the coefficients' from the train batch
  coefficients_.zero_grad();
  return loss.item();
}

}  // namespace iapt::optim
