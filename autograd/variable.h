#pragma once
// Variable: a tensor, its gradient, and the node that produced it (define-by-run autograd).
// A variable that does not require grad records nothing: ops on it alone build no graph, and a
// frozen weight's gradient is never computed.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace iapt {

struct Node;

struct VariableImpl {
  Tensor data;
  Tensor grad;  // accumulated by backward(); undefined until then
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // null for leaves
};

class Variable {
 public:
  Variable() = default;
  explicit Variable(Tensor data, bool requires_grad = false);

  bool defined() const { return impl_ != nullptr; }
  const Tensor& data() const { return checked()->data; }
  // A Variable is a handle: these change the shared variable, not the handle, hence const.
  // The optimizer updates parameters in place through set_data; it never records a graph.
  void set_data(Tensor t) const { checked()->data = std::move(t); }
  const Tensor& grad() const { return checked()->grad; }
  void set_grad(Tensor g) const { checked()->grad = std::move(g); }
  void zero_grad() const { checked()->grad = Tensor(); }
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  void set_requires_grad(bool on);  // leaves only: freezing or unfreezing a parameter
  bool is_leaf() const { return checked()->grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return checked()->grad_fn; }
  VariableImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<VariableImpl>& shared_impl() const { return impl_; }

  const Shape& shape() const { return data().shape(); }
  int64_t dim() const { return data().dim(); }
  int64_t size(int64_t axis) const { return data().size(axis); }
  DType dtype() const { return data().dtype(); }
  double item() const { return data().item(); }

  // Backpropagates from a one-element variable (seed 1), or with an explicit output gradient.
  // The graph is freed afterwards unless retain_graph is set.
  void backward(bool retain_graph = false) const;
  void backward(const Tensor& grad_output, bool retain_graph = false) const;
  Variable detach() const { return Variable(data(), false); }

 private:
  friend Variable make_result(Tensor, std::vector<Variable>, const char*,
                              std::function<std::vector<Tensor>(const Tensor&, const std::vector<bool>&)>);
  VariableImpl* checked() const;
  std::shared_ptr<VariableImpl> impl_;
};

// Computes the gradient of each input given the output's gradient; needs[i] says which inputs
// want one (entries not wanted may be left undefined, and their work skipped).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out, const std::vector<bool>& needs)>;

// Where an input's gradient goes: the node that produced it, or the leaf that receives it in
// .grad. An edge holds no activation: a graph keeps alive only what backward functions saved.
struct Edge {
  std::shared_ptr<Node> fn;
  std::shared_ptr<VariableImpl> leaf;  // set for a leaf that required grad when recorded
  Shape shape;
};

// A storage an op's backward may read (an input's or the output's) and its version when the op
// ran. Weak: the check must not keep alive what the backward function did not keep itself.
struct SavedVersion {
  std::weak_ptr<Storage> storage;
  uint64_t version;
  int64_t input;  // which input, or -1 for the output
};

struct Node {
  const char* name;
  std::vector<Edge> inputs;
  std::vector<bool> needs;  // which inputs require grad
  BackwardFn backward;
  std::vector<SavedVersion> saved;  // checked before backward runs
  Tensor pending_grad;  // the output gradient accumulated so far during a backward pass
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Tears down the chain of producers iteratively: a graph of a million nodes must not recurse
  // a million deep.
  ~Node();
};

// The result of an op: records a node when grad mode is on and some input requires grad,
// otherwise returns a plain variable and drops the backward function unused.
Variable make_result(Tensor out, std::vector<Variable> inputs, const char* name, BackwardFn backward);

bool grad_enabled();

// Disables graph recording in its scope (evaluation, optimizer steps, finite differences).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace iapt
