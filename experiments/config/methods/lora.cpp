// The LoRA entry: nn::LoraOptions from method: {name: lora, r, alpha, dropout, targets}.
#include "experiments/config/methods.h"
#include "nn/peft/lora.h"

namespace iapt::config {

MethodEntry lora_method() {
  return method_entry_of(TypedMethodEntry<nn::LoraOptions>{
      .name = "lora",
      .read =
          [](MethodReader& r, nn::LoraOptions& o) {
            o.r = r.size("r", 8);
            o.alpha = r.m.get<double>("alpha", 16.0);
            o.dropout = r.m.get_in<double>("dropout", 0.0, 0.0, 0.999);
            o.targets = r.m.string_list("targets", {"q", "v"});
            for (const auto& t : o.targets) nn::projection_name(t);  // throws on an unknown target
          },
      .count =
          [](const models::LlamaConfig& c, const nn::LoraOptions& o) {
            const Sizes z(c);
            int64_t per_layer = 0;  // r (in + out) per target projection
            for (const auto& t : o.targets) {
              if (t == "q" || t == "o") per_layer += z.d + z.d;
              else if (t == "k" || t == "v") per_layer += z.d + z.kv;
              else per_layer += z.d + z.f;  // gate, up, down
            }
            return per_layer * o.r * z.layers;
          },
      .make = [](const nn::LoraOptions& o, const ModelPtr& model, DType dtype) -> MethodPtr {
        auto lora = std::make_shared<nn::Lora>(o);
        lora->attach(*model, dtype);
        return lora;
      },
  });
}

}  // namespace iapt::config
