// The backward pass: a topological order of the nodes reachable from the output, then one sweep
// that hands each node its accumulated output gradient and routes the input gradients either to
// the producing node or, for leaves, into .grad.
#include <unordered_set>

#include "autograd/variable.h"
#include "core/error.h"
#include "core/ops.h"

namespace iapt {

namespace {

// Post-order (inputs before the nodes that use them). Holding the nodes here keeps them alive
// while the graph is freed, so freeing can clear them in any order.
std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const std::shared_ptr<Node>& child = node->inputs[next++].fn;
      if (child && seen.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return order;
}

void accumulate(Tensor& slot, const Tensor& g) { slot = slot.defined() ? ops::add(slot, g) : g; }

}  // namespace

void Variable::backward(bool retain_graph) const {
  IAPT_CHECK(data().numel() == 1, "backward(): the output has shape {}; give an output gradient for non-scalars",
             shape_str(shape()));
  backward(ones(shape(), dtype(), data().device()), retain_graph);
}

void Variable::backward(const Tensor& grad_output, bool retain_graph) const {
  IAPT_CHECK(requires_grad(), "backward(): the output does not require grad (no input requires grad, or it was "
                              "computed under NoGradGuard)");
  IAPT_CHECK(grad_output.shape() == shape(), "backward(): output gradient {} for an output of shape {}",
             shape_str(grad_output.shape()), shape_str(shape()));
  NoGradGuard no_grad;  // backward functions use plain tensor ops; nothing here is recorded
  if (is_leaf()) {
    impl_->grad = impl_->grad.defined() ? ops::add(impl_->grad, grad_output) : grad_output.clone();
    return;
  }
  Node* root = grad_fn().get();
  std::vector<std::shared_ptr<Node>> order = topological_order(grad_fn());
  // Whatever happens below, no partial gradient stays behind in the graph: a retry after an
  // exception must not add to sums from the failed pass.
  struct ClearPending {
    std::vector<std::shared_ptr<Node>>& nodes;
    ~ClearPending() {
      for (auto& n : nodes) n->pending_grad = Tensor();
    }
  } clear_pending{order};
  for (auto& n : order) n->pending_grad = Tensor();
  IAPT_CHECK(grad_output.dtype() == dtype(), "backward(): output gradient of dtype {} for an output of dtype {}",
             dtype_name(grad_output.dtype()), dtype_name(dtype()));
  root->pending_grad = grad_output;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = it->get();
    IAPT_CHECK(node->backward, "backward(): the graph through '{}' was already freed; pass retain_graph=true to the "
                               "first backward() to run it twice", node->name);
    if (!node->pending_grad.defined()) continue;
    for (const SavedVersion& s : node->saved) {
      const std::shared_ptr<Storage> storage = s.storage.lock();
      IAPT_CHECK(!storage || storage->version() == s.version,
                 "backward of '{}': its {} was changed in place after the op ran (version {}, now {}); change a "
                 "copy (clone()), or change it after backward()",
                 node->name, s.input < 0 ? std::string("output") : fmt::format("input {}", s.input), s.version,
                 storage->version());
    }
    std::vector<Tensor> grads = node->backward(node->pending_grad, node->needs);
    node->pending_grad = Tensor();
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      if (!node->needs[i] || i >= grads.size() || !grads[i].defined()) continue;
      Edge& in = node->inputs[i];
      IAPT_CHECK(grads[i].shape() == in.shape, "backward of '{}': gradient {} for input {} of shape {}", node->name,
                 shape_str(grads[i].shape()), i, shape_str(in.shape));
      if (in.fn) {
        accumulate(in.fn->pending_grad, grads[i]);
      } else if (in.leaf && in.leaf->requires_grad) {
        // A leaf's grad never aliases a tensor that a backward function returned, so callers
        // may modify it in place (clipping, scaling).
        VariableImpl* leaf = in.leaf.get();
        leaf->grad = leaf->grad.defined() ? ops::add(leaf->grad, grads[i]) : grads[i].clone();
      }
    }
  }
  if (!retain_graph) {
    for (auto& node : order) {
      node->backward = nullptr;
      node->inputs.clear();
      node->saved.clear();
    }
  }
}

}  // namespace iapt
