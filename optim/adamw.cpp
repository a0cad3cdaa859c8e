#include "optim/adamw.h"

#include <cmath>

#include "core/ops.h"

namespace iapt::optim {

AdamW::AdamW(std::vector<Variable> params, AdamWOptions options) : params_(std::move(params)), opt_(options) {
  for (const auto& p : params_) {
    m_.push_back(zeros(p.shape(), p.dtype(), p.data().device()));
    v_.push_back(zeros(p.shape(), p.dtype(), p.data().device()));
  }
}

void AdamW::step() {
  NoGradGuard no_grad;
  ++t_;
  const double c1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(t_));
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& g = params_[i].grad();
    if (!g.defined()) continue;
    const Tensor& p = params_[i].data();
    m_[i] = ops::add(ops::mul_scalar(m_[i], opt_.beta1), ops::mul_scalar(g, 1.0 - opt_.beta1));
    v_[i] = ops::add(ops::mul_scalar(v_[i], opt_.beta2), ops::mul_scalar(ops::mul(g, g), 1.0 - opt_.beta2));
    Tensor denom = ops::add_scalar(ops::unary(UnaryOp::Sqrt, ops::mul_scalar(v_[i], 1.0 / c2)), opt_.eps);
    Tensor update = ops::div(ops::mul_scalar(m_[i], 1.0 / c1), denom);
    if (opt_.weight_decay != 0.0) update = ops::add(update, ops::mul_scalar(p, opt_.weight_decay));
    Tensor next = ops::sub(p, ops::mul_scalar(update, opt_.lr));
    Tensor target = p;  // same storage the model holds
    target.copy_(next);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

}  // namespace iapt::optim
