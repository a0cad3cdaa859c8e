#pragma once
// Module: a node of the model tree with named parameters and child modules. Names are
// dotted paths ("model.layers.3.self_attn.q_proj.weight"), the same as Hugging Face's, so a
// state dict reads and writes checkpoints unchanged.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"

namespace iapt::nn {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its descendants, in registration order.
  std::vector<std::pair<std::string, Variable>> named_parameters() const;
  std::vector<Variable> parameters() const;
  // Every descendant module (not this one), depth first, with its dotted path.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;

  // Frozen parameters record no graph and get no gradient (see autograd/variable.h).
  void freeze();
  void unfreeze();
  int64_t parameter_count() const;
  int64_t trainable_parameter_count() const;

  // Parameters by dotted name.
  std::map<std::string, Tensor> state_dict() const;
  // Takes tensors in by name: one of the parameter's dtype and device is adopted as it is (a
  // memory-mapped checkpoint stays mapped), another is converted into it. Every parameter must be
  // present with its exact shape; `source` names the file in errors. Returns the
  // names in `state` that matched nothing (for the caller to reject or report).
  std::vector<std::string> load_state_dict(const std::map<std::string, Tensor>& state, const std::string& source);
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;
  void load(const std::string& path);  // strict: unknown names are an error too

  void to(Device device);

 protected:
  Variable register_parameter(const std::string& name, Tensor init, bool requires_grad = true);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    children_.emplace_back(name, child);
    return child;
  }

 private:
  void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) const;

  std::vector<std::pair<std::string, Variable>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace iapt::nn
