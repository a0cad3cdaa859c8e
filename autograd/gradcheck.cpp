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

double projected(const GradcheckFn& f, const std::vector<Variable>& vars, const Tensor& r) {
  NoGradGuard no_grad;
  Tensor out = f(vars).data();
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

GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  std::vector<Variable> vars;
  for (const Tensor& t : inputs) {
    IAPT_CHECK(t.dtype() == DType::F64, "gradcheck: inputs must be f64, got {}", dtype_name(t.dtype()));
    for (size_t d = 0; d < t.shape().size(); ++d)
      IAPT_CHECK(t.shape()[d] <= 1 || t.strides()[d] != 0,
                 "gradcheck: input {} is broadcast (stride 0 on axis {}); one perturbation would move several "
                 "elements: pass a materialised tensor", vars.size(), d);
    vars.emplace_back(t, true);
  }
  Variable out = f(vars);
  Tensor r = empty(out.shape(), DType::F64);
  backend_for(Device::CPU).normal(r, opt.seed, 0);
  out.backward(r);

  GradcheckReport rep;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    Tensor analytic = vars[i].grad().defined() ? vars[i].grad() : zeros(x.shape(), DType::F64);
    double* base = static_cast<double*>(x.storage()->data());
    for (int64_t flat = 0; flat < x.numel(); ++flat) {
      std::vector<int64_t> idx = unravel(flat, x.shape());
      int64_t off = x.offset();
      for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * x.strides()[d];
      const double saved = base[off];
      base[off] = saved + opt.eps;
      const double plus = projected(f, vars, r);
      base[off] = saved - opt.eps;
      const double minus = projected(f, vars, r);
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

}  // namespace iapt
