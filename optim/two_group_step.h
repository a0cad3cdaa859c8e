#pragma once
// Two parameter groups, each with its own optimizer (and learning rate), as IAPT's rational
// coefficients and the rest of its generators are trained:
//   joint:   one train batch; both groups step on its gradients
//   bilevel: first-order DARTS: the coefficient group steps on a held-out batch's gradients, then
//            the main group on a train batch's (the authors' setting: lr 1e-6 and 1e-4)
// Gradients are clipped to max_grad_norm (0: no clipping) before stepping: jointly over both
// groups in joint mode, each group on its own in bilevel mode. A loss or gradient norm that is
// NaN or infinite steps nothing (the caller decides whether to stop).
#include <functional>
#include <vector>

#include "optim/optimizer.h"

namespace iapt::optim {

struct StepResult {
  double loss = 0;       // the train batch's
  double grad_norm = 0;  // before clipping: of both groups (joint), of the main group (bilevel)
  bool finite = true;    // false: a loss or gradient norm was NaN or infinite, and nothing stepped
};

class TwoGroupStep {
 public:
  TwoGroupStep(Optimizer& main, Optimizer& coefficients, bool bilevel, double max_grad_norm = 0.0)
      : main_(main), coefficients_(coefficients), bilevel_(bilevel), max_grad_norm_(max_grad_norm) {}
  // train_backward runs the backward pass of a train batch (several, when accumulating) and
  // returns its loss; dev_backward that of a held-out batch, in bilevel mode only (and must be given then).
  StepResult step(const std::function<double()>& train_backward, const std::function<void()>& dev_backward = nullptr);
  bool bilevel() const { return bilevel_; }
  // Called after the train batch's backward pass, before clipping (a run's gradient diagnostics).
  std::function<void()> inspect_gradients;

 private:
  Optimizer& main_;
  Optimizer& coefficients_;
  bool bilevel_;
  double max_grad_norm_;
};

}  // namespace iapt::optim
