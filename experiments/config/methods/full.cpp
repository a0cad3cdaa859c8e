// Full fine-tuning: method: {name: full}, no options; the backbone itself trains.
#include "experiments/config/methods.h"
#include "nn/peft/full.h"

namespace iapt::config {

MethodEntry full_method() {
  return method_entry_of(TypedMethodEntry<nn::NoOptions>{
      .name = "full",
      .read = [](MethodReader&, nn::NoOptions&) {},
      .count = [](const models::LlamaConfig& c, const nn::NoOptions&) { return backbone_parameters(c); },
      .make = [](const nn::NoOptions&, const ModelPtr& model, DType) -> MethodPtr {
        return std::make_shared<nn::FullFineTuning>(model);
      },
      .trains_backbone = true,
  });
}

}  // namespace iapt::config
