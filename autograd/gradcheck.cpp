#include "autograd/gradcheck.h"

#include <cmath>
#include <limits>

#include "core/backend.h"
#include "core/error.h"
#include "core/ops.h"

namespace iapt {

std::string GradcheckReport::to_string() const {
  return fmt::format("{}: {} elements; worst at input {} index {}: analytic {:.10g}, numeric {:.10g}, abs error "
                     "{:.3g}, rel error {:.3g}",
                     ok ? "ok" : "FAILED", elements_checked, input, shape_str(index), analytic, numeric,
                     worst_abs_error, worst_rel_error);
}

namespace {

double projected(const std::function<Variable()>& f, const Tensor& r) {
  NoGradGuard no_grad;
  Tensor out = f().data();
  return ops::sum(ops::mul(out, r)).item();
}

std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

}  // namespace

namespace {

void check_leaf(const Tensor& t, size_t index) {
  IAPT_CHECK(t.dtype() == DType::F64, "gradcheck: inputs must be f64, got {}", dtype_name(t.dtype()));
  for (size_t d = 0; d < t.shape().size(); ++d)
    IAPT_CHECK(t.shape()[d] <= 1 || t.strides()[d] != 0,
               "gradcheck: input {} is broadcast (stride 0 on axis {}); one perturbation would move several "
               "elements: pass a materialised tensor", index, d);
}

// Analytic vector-Jacobian products of f at its leaves against central differences.
GradcheckReport check(const std::function<Variable()>& f, const std::vector<Variable>& leaves,
                      const GradcheckOptions& opt) {
  for (size_t i = 0; i < leaves.size(); ++i) {
    check_leaf(leaves[i].data(), i);
    leaves[i].zero_grad();
  }
  Variable out = f();
  Tensor r = empty(out.shape(), DType::F64);
  backend_for(Device::CPU).normal(r, opt.seed, 0);
  out.backward(r);

  GradcheckReport rep;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const Tensor& x = leaves[i].data();
    Tensor analytic = leaves[i].grad().defined() ? leaves[i].grad() : zeros(x.shape(), DType::F64);
    double* base = static_cast<double*>(x.storage()->data());
    for (int64_t flat = 0; flat < x.numel(); ++flat) {
      std::vector<int64_t> idx = unravel(flat, x.shape());
      int64_t off = x.offset();
      for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * x.strides()[d];
      const double saved = base[off];
      base[off] = saved + opt.eps;
      const double plus = projected(f, r);
      base[off] = saved - opt.eps;
      const double minus = projected(f, r);
      base[off] = saved;
      const double numeric = (plus - minus) / (2 * opt.eps);
      const double a = analytic.at(idx);
      const double err = std::abs(a - numeric);
      // A NaN or infinity anywhere is a failure, never a quiet pass of a comparison.
      const double score = std::isfinite(a) && std::isfinite(numeric)
                               ? err / (opt.atol + opt.rtol * std::abs(numeric))
                               : std::numeric_limits<double>::infinity();
      ++rep.elements_checked;
      if (score >= rep.worst_score) {
        rep.worst_score = score;
        rep.worst_abs_error = err;
        rep.worst_rel_error = err / std::max(std::abs(numeric), 1e-12);
        rep.input = i;
        rep.index = idx;
        rep.analytic = a;
        rep.numeric = numeric;
      }
    }
  }
  rep.ok = rep.worst_score <= 1.0;
  return rep;
}

}  // namespace

GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  std::vector<Variable> vars;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_leaf(inputs[i], i);
    vars.emplace_back(inputs[i], true);
  }
  return check([&] { return f(vars); }, vars, opt);
}

GradcheckReport gradcheck_parameters(const std::function<Variable()>& f, const std::vector<Variable>& params,
                                     const GradcheckOptions& opt) {
  for (const auto& p : params)
    IAPT_CHECK(p.is_leaf() && p.requires_grad(), "gradcheck_parameters: every parameter must be a leaf requiring grad");
  return check(f, params, opt);
}

}  // namespace iapt
