#include "nn/peft/adapters.h"

#include "core/error.h"

namespace iapt::nn {

BottleneckAdapter::BottleneckAdapter(int64_t hidden, int64_t bottleneck, DType dtype) {
  down = register_module("down", std::make_shared<Linear>(hidden, bottleneck, true, dtype));
  up = register_module("up", std::make_shared<Linear>(bottleneck, hidden, true, dtype));
  up->weight.data().fill_(0.0);
  up->bias.data().fill_(0.0);
}

Variable BottleneckAdapter::forward(const Variable& x) const { return up->forward(relu(down->forward(x))); }

Adapters::Adapters(int64_t hidden, int64_t num_layers, const AdapterOptions& o, DType dtype)
    : PeftMethod("adapters."), options(o) {
  IAPT_CHECK(o.placement == "attention" || o.placement == "mlp" || o.placement == "both",
             "adapters: placement '{}' (attention, mlp or both)", o.placement);
  for (int64_t l = 0; l < num_layers; ++l) {
    const std::string base = "layers." + std::to_string(l) + ".";
    if (o.placement != "mlp")
      adapters[{l, 0}] = register_module(base + "attention", std::make_shared<BottleneckAdapter>(hidden, o.bottleneck, dtype));
    if (o.placement != "attention")
      adapters[{l, 1}] = register_module(base + "mlp", std::make_shared<BottleneckAdapter>(hidden, o.bottleneck, dtype));
  }
}

Variable Adapters::adapt_sublayer(int64_t layer, Sublayer which, const Variable& input, const Variable& output) {
  auto it = adapters.find({layer, which == Sublayer::Attention ? 0 : 1});
  if (it == adapters.end()) return output;
  if (options.parallel) return add(output, mul_scalar(it->second->forward(input), options.scale));
  return add(output, it->second->forward(output));
}

}  // namespace iapt::nn
