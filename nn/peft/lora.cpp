#include "nn/peft/lora.h"

#include <cmath>

#include "autograd/functions.h"
#include "core/error.h"
#include "core/ops.h"

namespace iapt::nn {

std::string projection_name(const std::string& target) {
  static const std::vector<std::string> known{"q", "k", "v", "o", "gate", "up", "down"};
  IAPT_CHECK(std::find(known.begin(), known.end(), target) != known.end(),
             "lora: unknown target '{}' (q, k, v, o, gate, up, down)", target);
  return target + "_proj";
}

LoraAdapter::LoraAdapter(int64_t in, int64_t out, const LoraOptions& o, DType dtype)
    : scale(o.alpha / static_cast<double>(o.r)), dropout(o.dropout) {
  IAPT_CHECK(o.r >= 1, "lora: r must be at least 1, got {}", o.r);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // kaiming_uniform(a = sqrt(5))
  lora_a = register_parameter("lora_A.weight", ops::add_scalar(ops::mul_scalar(rand({o.r, in}, dtype), 2 * bound), -bound));
  lora_b = register_parameter("lora_B.weight", zeros({out, o.r}, dtype));
}

Variable LoraAdapter::forward(const Linear& base, const Variable& x) const {
  Variable xd = iapt::dropout(x, dropout, training && dropout > 0);
  // the scale applied to the rank-r intermediate [..., r], not to the [..., out] update
  Variable update = matmul(mul_scalar(matmul(xd, lora_a, false, true), scale), lora_b, false, true);  // [..., out]
  return add(base.base_forward(x), update);
}

int64_t Lora::attach(const Module& model, DType dtype) {
  IAPT_CHECK(attached_.empty(), "lora: already attached");
  std::vector<std::string> suffixes;
  for (const auto& t : options.targets) suffixes.push_back(fmt::format(".{}", projection_name(t)));
  for (auto& [path, module] : model.named_modules()) {
    auto linear = std::dynamic_pointer_cast<Linear>(module);
    if (!linear) continue;
    bool target = false;
    for (const auto& s : suffixes) target = target || (path.size() > s.size() && path.ends_with(s));
    if (!target) continue;
    IAPT_CHECK(!linear->adapter, "lora: {} already carries an adapter", path);
    auto adapter = std::make_shared<LoraAdapter>(linear->in_features, linear->out_features, options, dtype);
    register_module(path, adapter);
    linear->adapter = adapter;
    attached_.push_back(linear);
    adapters_.push_back(adapter);
  }
  IAPT_CHECK(!attached_.empty(), "lora: no projection of the model matches the targets {}", fmt::join(options.targets, ", "));
  return static_cast<int64_t>(attached_.size());
}

void Lora::detach() {
  for (auto& l : attached_) l->adapter.reset();
  attached_.clear();
}

void Lora::set_training(bool on) {
  for (auto& a : adapters_) a->training = on;
}

}  // namespace iapt::nn
