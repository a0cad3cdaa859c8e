#include "optim/optimizer.h"

#include "core/backend.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"

namespace iapt::optim {

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  for (const auto& g : groups_) state_.emplace_back(g.params.size());
}

std::vector<Variable> Optimizer::parameters() const {
  std::vector<Variable> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  ++t_;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& group = groups_[gi];
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      const Variable& p = group.params[pi];
      if (!p.grad().defined()) continue;
      std::vector<Tensor>& slots = state_[gi][pi];
      if (slots.empty())
        for (int s = 0; s < slot_count(); ++s) slots.push_back(zeros(p.shape(), p.dtype(), p.data().device()));
      update(p.data(), p.grad(), group.lr * lr_scale_, group.weight_decay, slots);
    }
  }
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out{{"step", scalar_tensor(static_cast<double>(t_), DType::F64)}};
  for (size_t gi = 0; gi < state_.size(); ++gi)
    for (size_t pi = 0; pi < state_[gi].size(); ++pi)
      for (size_t s = 0; s < state_[gi][pi].size(); ++s)
        out[fmt::format("group.{}.param.{}.slot.{}", gi, pi, s)] = state_[gi][pi][s];
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state, const std::string& source) {
  auto it = state.find("step");
  IAPT_CHECK(it != state.end(), "{}: optimizer state without 'step'", source);
  t_ = static_cast<int64_t>(it->second.item());
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      std::vector<Tensor>& slots = state_[gi][pi];
      slots.clear();
      for (int s = 0; s < slot_count(); ++s) {
        const std::string key = fmt::format("group.{}.param.{}.slot.{}", gi, pi, s);
        auto f = state.find(key);
        // none: this parameter had no gradient yet; some but not all: the state is incomplete
        IAPT_CHECK(f != state.end() || s == 0, "{}: optimizer state {} is missing (slot {} of {} is there)", source, key,
                   s - 1, slot_count());
        if (f == state.end()) break;
        const Variable& p = groups_[gi].params[pi];
        IAPT_CHECK(f->second.shape() == p.shape(), "{}: optimizer state {} has shape {}, the parameter {}", source,
                   f->first, shape_str(f->second.shape()), shape_str(p.shape()));
        slots.push_back(f->second.to(p.dtype()).to(p.data().device()).clone());
      }
    }
}

void SGD::update(const Tensor& p, const Tensor& g, double lr, double wd, std::vector<Tensor>& slots) {
  Tensor d = wd != 0.0 ? ops::add(g, ops::mul_scalar(p, wd)) : g;
  if (opt_.momentum != 0.0) {
    slots[0] = ops::add(ops::mul_scalar(slots[0], opt_.momentum), d);
    d = slots[0];
  }
  p.copy_(ops::sub(p, ops::mul_scalar(d, lr)));
}

void Adam::update(const Tensor& p, const Tensor& g_in, double lr, double wd, std::vector<Tensor>& slots) {
  const double c1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(t_));
  ops::adam_step(p, g_in, slots[0], slots[1], lr, opt_.beta1, opt_.beta2, opt_.eps, wd, decoupled_, c1, c2);
}

}  // namespace iapt::optim
