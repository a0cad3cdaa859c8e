#include "autograd/variable.h"

#include "core/error.h"

namespace iapt {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Variable::Variable(Tensor data, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  IAPT_CHECK(data.defined(), "Variable: undefined tensor");
  IAPT_CHECK(!requires_grad || is_floating(data.dtype()), "Variable: a {} tensor cannot require grad",
             dtype_name(data.dtype()));
  impl_->data = std::move(data);
  impl_->requires_grad = requires_grad;
}

void Variable::set_requires_grad(bool on) {
  IAPT_CHECK(is_leaf(), "set_requires_grad: only leaf variables (parameters, inputs) can change it");
  IAPT_CHECK(!on || is_floating(dtype()), "set_requires_grad: a {} tensor cannot require grad", dtype_name(dtype()));
  impl_->requires_grad = on;
}

Variable make_result(Tensor out, std::vector<Variable> inputs, const char* name, BackwardFn backward) {
  Variable v(std::move(out), false);
  if (!g_grad_enabled) return v;
  std::vector<bool> needs(inputs.size());
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) any |= (needs[i] = inputs[i].requires_grad());
  if (!any) return v;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->needs = std::move(needs);
  node->backward = std::move(backward);
  v.impl_->requires_grad = true;
  v.impl_->grad_fn = std::move(node);
  return v;
}

}  // namespace iapt
