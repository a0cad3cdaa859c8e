#include "autograd/variable.h"

#include "core/error.h"

namespace iapt {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

namespace {
// Gradients and optimizer state are f32 or f64: a 16-bit tensor is a frozen weight.
bool can_require_grad(DType t) { return t == DType::F32 || t == DType::F64; }
const char* why_no_grad(DType t) {
  return is_16bit(t) ? " (16-bit weights stay frozen; trainable parameters are f32: load the backbone in f32 to "
                       "train it)"
                     : "";
}
}  // namespace

Variable::Variable(Tensor data, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  IAPT_CHECK(data.defined(), "Variable: undefined tensor");
  IAPT_CHECK(!requires_grad || can_require_grad(data.dtype()), "Variable: a {} tensor cannot require grad{}",
             dtype_name(data.dtype()), why_no_grad(data.dtype()));
  impl_->data = std::move(data);
  impl_->requires_grad = requires_grad;
}

VariableImpl* Variable::checked() const {
  IAPT_CHECK(impl_ != nullptr, "Variable: used before it was given a tensor (default-constructed)");
  return impl_.get();
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack;
  for (Edge& e : inputs)
    if (e.fn) stack.push_back(std::move(e.fn));
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n.use_count() == 1) {  // the last owner: take its producers before it dies
      for (Edge& e : n->inputs)
        if (e.fn) stack.push_back(std::move(e.fn));
      n->inputs.clear();
    }
  }
}

void Variable::set_requires_grad(bool on) {
  IAPT_CHECK(is_leaf(), "set_requires_grad: only leaf variables (parameters, inputs) can change it");
  IAPT_CHECK(!on || can_require_grad(dtype()), "set_requires_grad: a {} tensor cannot require grad{}",
             dtype_name(dtype()), why_no_grad(dtype()));
  impl_->requires_grad = on;
}

Variable make_result(Tensor out, std::vector<Variable> inputs, const char* name, BackwardFn backward) {
  Variable v(std::move(out), false);
  if (!g_grad_enabled) return v;
  std::vector<bool> needs(inputs.size());
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    IAPT_CHECK(inputs[i].defined(), "{}: input {} is an undefined Variable", name, i);
    any |= (needs[i] = inputs[i].requires_grad());
  }
  if (!any) return v;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs.reserve(inputs.size());
  for (const Variable& in : inputs) {
    Edge e;
    if (in.requires_grad()) {
      if (in.grad_fn()) e.fn = in.grad_fn();
      else e.leaf = in.shared_impl();
    }
    e.shape = in.shape();
    node->inputs.push_back(std::move(e));
  }
  node->needs = std::move(needs);
  node->backward = std::move(backward);
  // Backward functions capture what they need from the inputs and the output; which of them is not
  // declared, so all count as saved (an op whose backward needs none of them is rare in practice).
  node->saved.reserve(inputs.size() + 1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& s = inputs[i].data().storage();
    node->saved.push_back({s, s->version(), static_cast<int64_t>(i)});
  }
  node->saved.push_back({v.data().storage(), v.data().storage()->version(), -1});
  v.impl_->requires_grad = true;
  v.impl_->grad_fn = std::move(node);
  return v;
}

}  // namespace iapt
