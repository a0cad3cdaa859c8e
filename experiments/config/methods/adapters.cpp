// The two adapter entries, serial (adapter) and parallel (parallel_adapter): nn::AdapterOptions
// from method: {name, bottleneck, placement, scale}.
#include "experiments/config/methods.h"
#include "nn/peft/adapters.h"

namespace iapt::config {

namespace {

MethodEntry adapter_entry(const std::string& name, bool parallel) {
  nn::AdapterOptions defaults;
  defaults.parallel = parallel;
  return method_entry_of(TypedMethodEntry<nn::AdapterOptions>{
      .name = name,
      .defaults = defaults,
      .read =
          [](MethodReader& r, nn::AdapterOptions& o) {
            o.bottleneck = r.size("bottleneck", 64);
            o.placement = r.m.choice("placement", "both", {"attention", "mlp", "both"});
            o.scale = r.m.get<double>("scale", 1.0);
          },
      .count =
          [](const models::LlamaConfig& c, const nn::AdapterOptions& o) {
            const Sizes z(c);
            const int64_t per_adapter = 2 * z.d * o.bottleneck + o.bottleneck + z.d;
            return z.layers * per_adapter * (o.placement == "both" ? 2 : 1);
          },
      .make = [](const nn::AdapterOptions& o, const ModelPtr& model, DType dtype) -> MethodPtr {
        return std::make_shared<nn::Adapters>(model->config.hidden_size, model->config.num_hidden_layers, o, dtype);
      },
  });
}

}  // namespace

MethodEntry adapter_method() { return adapter_entry("adapter", false); }
MethodEntry parallel_adapter_method() { return adapter_entry("parallel_adapter", true); }

}  // namespace iapt::config
