#include "nn/linear.h"

#include <cmath>

#include "core/ops.h"
#include "nn/skip_init.h"

namespace iapt::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, DType dtype) : in_features(in), out_features(out) {
  if (SkipInit::active()) {
    weight = register_parameter("weight", empty({out, in}, dtype));
    if (with_bias) bias = register_parameter("bias", empty({out}, dtype));
    return;
  }
  // PyTorch's default: uniform in +-1/sqrt(in)
  const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(in, 1)));
  // drawn in f32 and rounded where the weight is 16-bit
  const DType draw = is_16bit(dtype) ? DType::F32 : dtype;
  weight = register_parameter("weight",
                              ops::add_scalar(ops::mul_scalar(rand({out, in}, draw), 2 * bound), -bound).to(dtype));
  if (with_bias)
    bias = register_parameter("bias", ops::add_scalar(ops::mul_scalar(rand({out}, draw), 2 * bound), -bound).to(dtype));
}

Variable Linear::base_forward(const Variable& x) const {
  Variable y = matmul(x, weight, false, true);
  return bias.defined() ? add(y, bias) : y;
}

Variable Linear::forward(const Variable& x) const { return adapter ? adapter->forward(*this, x) : base_forward(x); }

Embedding::Embedding(int64_t num, int64_t dim, DType dtype) {
  weight = register_parameter("weight", SkipInit::active() ? empty({num, dim}, dtype) : randn({num, dim}, dtype));
}

RMSNorm::RMSNorm(int64_t dim, double eps_, DType dtype) : eps(eps_) {
  weight = register_parameter("weight", SkipInit::active() ? empty({dim}, dtype) : ones({dim}, dtype));
}

}  // namespace iapt::nn
