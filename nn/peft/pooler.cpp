#include "nn/peft/pooler.h"

#include <cmath>
#include <limits>

#include "autograd/functions.h"
#include "core/error.h"
#include "core/ops.h"

namespace iapt::nn {

PoolerKind parse_pooler(const std::string& name) {
  if (name == "attention") return PoolerKind::Attention;
  if (name == "mean") return PoolerKind::Mean;
  if (name == "max") return PoolerKind::Max;
  if (name == "last") return PoolerKind::Last;
  throw Error(fmt::format("unknown pooler '{}' (attention, mean, max or last)", name));
}

const char* pooler_name(PoolerKind kind) {
  switch (kind) {
    case PoolerKind::Attention: return "attention";
    case PoolerKind::Mean: return "mean";
    case PoolerKind::Max: return "max";
    case PoolerKind::Last: return "last";
  }
  return "?";
}

Pooler::Pooler(PoolerKind k, int64_t tokens, int64_t bottleneck, DType dtype) : kind(k), soft_tokens(tokens) {
  if (kind == PoolerKind::Attention) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(bottleneck));
    query = register_parameter("query", ops::add_scalar(ops::mul_scalar(rand({tokens, bottleneck}, dtype), 2 * bound), -bound));
  }
}

namespace {

double normalized_entropy(const Tensor& attention, const Tensor& mask) {  // [B, T, k], [B, T]
  const Tensor a = attention.to(Device::CPU).to(DType::F64).contiguous();
  const Tensor m = mask.to(Device::CPU).to(DType::F64).contiguous();
  const int64_t b = a.size(0), t = a.size(1), k = a.size(2);
  double total = 0, count = 0;
  for (int64_t r = 0; r < b; ++r) {
    double n = 0;
    for (int64_t i = 0; i < t; ++i) n += m.data<double>()[r * t + i] != 0;
    if (n < 2) continue;  // one token: no spread to measure
    for (int64_t j = 0; j < k; ++j) {
      double h = 0;
      for (int64_t i = 0; i < t; ++i) {
        const double p = a.data<double>()[(r * t + i) * k + j];
        if (p > 0) h -= p * std::log(p);
      }
      total += h / std::log(n), count += 1;
    }
  }
  return count > 0 ? total / count : 0.0;
}

}  // namespace

Variable Pooler::forward(const Variable& z, const Tensor& mask_any, double* entropy) const {
  IAPT_CHECK(z.dim() == 3 && mask_any.dim() == 2 && mask_any.size(0) == z.size(0) && mask_any.size(1) == z.size(1),
             "pooler: z {} and instruction mask {} must be [B, T, m] and [B, T]", shape_str(z.shape()),
             shape_str(mask_any.shape()));
  const int64_t b = z.size(0), t = z.size(1), m = z.size(2);
  const Device dev = z.data().device();
  Tensor mask = mask_any.to(dev).to(z.dtype());                       // [B, T], 1 = instruction
  Tensor outside = ops::eq(mask, zeros({}, z.dtype(), dev));          // 1 where not instruction
  const double lowest = static_cast<double>(std::numeric_limits<float>::lowest());
  switch (kind) {
    case PoolerKind::Attention: {
      Variable scores = matmul(z, query, false, true);                 // [B, T, k]
      Variable a = softmax(masked_fill(scores, outside.reshape({b, t, 1}), lowest), 1);
      if (entropy) *entropy = normalized_entropy(a.data(), mask);
      return matmul(a, z, true, false);                                // [B, k, m]
    }
    case PoolerKind::Mean: {
      Tensor count = ops::add_scalar(ops::unary(UnaryOp::Relu, ops::add_scalar(ops::sum(mask, {1}, true), -1.0)), 1.0);
      Variable pooled = div(sum(mul(z, Variable(mask.reshape({b, t, 1}))), {1}, true),
                            Variable(count.reshape({b, 1, 1})));      // [B, 1, m], a row without instruction: 0
      return expand(pooled, {b, soft_tokens, m});
    }
    case PoolerKind::Max: {
      Variable pooled = amax(masked_fill(z, outside.reshape({b, t, 1}), lowest), {1}, true);  // [B, 1, m]
      return expand(pooled, {b, soft_tokens, m});
    }
    case PoolerKind::Last: {
      // one-hot on each row's last instruction token
      Tensor m_cpu = mask.to(Device::CPU).to(DType::F64).contiguous();
      std::vector<double> onehot(b * t, 0.0);
      for (int64_t r = 0; r < b; ++r)
        for (int64_t i = t - 1; i >= 0; --i)
          if (m_cpu.data<double>()[r * t + i] != 0) {
            onehot[r * t + i] = 1;
            break;
          }
      Tensor w = from_vector(onehot, {b, t, 1}, z.dtype()).to(dev);
      Variable pooled = sum(mul(z, Variable(w)), {1}, true);           // [B, 1, m]
      return expand(pooled, {b, soft_tokens, m});
    }
  }
  return z;
}

}  // namespace iapt::nn
