#pragma once
// Optimizers over parameter groups, each group with its own learning rate and weight decay (IAPT's
// rational coefficients learn at their own rate). A schedule scales every group's rate through
// set_lr_scale. The update rules are written with core ops, so they run on any backend; parameters
// change in place.
//   SGD:   v = mu v + g;  p -= lr (v + wd p)
//   Adam:  g' = g + wd p (L2 in the gradient);  m, v moments;  p -= lr m^ / (sqrt(v^) + eps)
//   AdamW: the same moments of g;  p -= lr (m^ / (sqrt(v^) + eps) + wd p)   (decoupled decay)
#include <map>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace iapt::optim {

struct ParamGroup {
  std::string name;
  std::vector<Variable> params;
  double lr = 1e-3;
  double weight_decay = 0.0;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;
  void step();       // parameters without a gradient are left alone
  void zero_grad();  // drops every parameter's gradient
  void set_lr_scale(double scale) { lr_scale_ = scale; }
  int64_t steps() const { return t_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  std::vector<Variable> parameters() const;

  // The moments and the step count, to resume training exactly.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state, const std::string& source);

 protected:
  // Updates p in place from its gradient g; `slots` holds this parameter's state tensors.
  virtual void update(const Tensor& p, const Tensor& g, double lr, double weight_decay, std::vector<Tensor>& slots) = 0;
  virtual int slot_count() const = 0;
  int64_t t_ = 0;

 private:
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<std::vector<Tensor>>> state_;  // [group][param][slot]
  double lr_scale_ = 1.0;
};

struct SgdOptions {
  double momentum = 0.0;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SgdOptions options = {}) : Optimizer(std::move(groups)), opt_(options) {}

 protected:
  void update(const Tensor& p, const Tensor& g, double lr, double wd, std::vector<Tensor>& slots) override;
  int slot_count() const override { return 1; }

 private:
  SgdOptions opt_;
};

struct AdamOptions {
  double lr = 1e-3;  // for the single-group constructor
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // for the single-group constructor
};
using AdamWOptions = AdamOptions;

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {}, bool decoupled = false)
      : Optimizer(std::move(groups)), opt_(options), decoupled_(decoupled) {}

 protected:
  void update(const Tensor& p, const Tensor& g, double lr, double wd, std::vector<Tensor>& slots) override;
  int slot_count() const override { return 2; }

 private:
  AdamOptions opt_;
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamOptions options = {}) : Adam(std::move(groups), options, true) {}
  // One group of parameters with the options' learning rate and decay.
  AdamW(std::vector<Variable> params, AdamOptions options)
      : Adam({ParamGroup{"all", std::move(params), options.lr, options.weight_decay}}, options, true) {}
};

}  // namespace iapt::optim
