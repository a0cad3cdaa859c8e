#pragma once
// The interface every parameter-efficient method shares, so that swapping method.name in a YAML
// file is the whole difference between two runs: the method is a module (its tunable parameters)
// and a set of forward hooks (how it reaches into the frozen decoder).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/hooks.h"
#include "nn/module.h"
#include "nn/peft/statistics.h"

namespace iapt::nn {

// The options of a method that has none ((IA)^3, full fine-tuning).
struct NoOptions {};

class PeftMethod : public Module, public ForwardHooks {
 public:
  explicit PeftMethod(std::string canonical_prefix) : canonical_prefix_(std::move(canonical_prefix)) {}
  virtual std::string name() const = 0;
  // The tunable parameters under their canonical names (README): the method's own dotted names
  // behind its prefix ("iapt.", "prompt_encoder.", ...; LoRA's are the projections' paths).
  virtual std::vector<std::pair<std::string, Variable>> canonical_parameters() const {
    std::vector<std::pair<std::string, Variable>> out;
    for (auto& [n, p] : named_parameters())
      if (p.requires_grad()) out.emplace_back(canonical_prefix_ + n, p);
    return out;
  }
  // The tunable parameters' values by canonical name, and their loading back: every parameter must
  // be present under `prefix` + its name with its exact shape, and nothing else under `prefix`;
  // `source` names the file in errors.
  std::map<std::string, Tensor> canonical_state() const;
  void load_canonical_state(const std::map<std::string, Tensor>& state, const std::string& prefix,
                            const std::string& source) const;

  // Parameters the trainer steps as a group of their own, at training.coefficient_lr (IAPT's
  // rational coefficients); empty for most methods. With bilevel_coefficients() they learn on
  // training rows held out of the other parameters' batches.
  virtual std::vector<Variable> coefficient_parameters() const { return {}; }
  virtual bool bilevel_coefficients() const { return false; }
  // Dropout on (training) or off (evaluation), where a method has any.
  virtual void set_training(bool on) { (void)on; }

  // Filled during a forward pass while statistics.enabled (a run's diagnostics steps).
  ForwardStatistics statistics;

 protected:
  std::string canonical_prefix_;
};

}  // namespace iapt::nn
