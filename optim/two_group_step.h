#pragma once
// Two parameter groups with their own AdamW (and learning rates), as IAPT's rational coefficients
// and the rest of its generators are trained:
//   joint:   one loss on a train batch; both groups step on its gradients
//   bilevel: first-order DARTS: the coefficient group steps on a dev batch's loss, then the main
//            group on a train batch's loss (the authors' setting: lr 1e-6 and 1e-4)
#include <functional>
#include <memory>
#include <vector>

#include "optim/optimizer.h"

namespace iapt::optim {

class TwoGroupStep {
 public:
  TwoGroupStep(std::vector<Variable> main, AdamWOptions main_options, std::vector<Variable> coefficients,
               AdamWOptions coefficient_options, bool bilevel);
  // Returns the train loss. dev_loss is used in bilevel mode only (and must be given then).
  double step(const std::function<Variable()>& train_loss, const std::function<Variable()>& dev_loss = nullptr);
  bool bilevel() const { return bilevel_; }

 private:
  AdamW main_, coefficients_;
  bool bilevel_;
};

}  // namespace iapt::optim
