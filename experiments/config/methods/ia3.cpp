// The (IA)^3 entry: method: {name: ia3}, no options.
#include "experiments/config/methods.h"
#include "nn/peft/ia3.h"

namespace iapt::config {

MethodEntry ia3_method() {
  return method_entry_of(TypedMethodEntry<nn::NoOptions>{
      .name = "ia3",
      .read = [](MethodReader&, nn::NoOptions&) {},
      .count =
          [](const models::LlamaConfig& c, const nn::NoOptions&) {
            const Sizes z(c);
            return z.layers * (2 * z.kv + z.f);
          },
      .make = [](const nn::NoOptions&, const ModelPtr& model, DType dtype) -> MethodPtr {
        auto ia3 = std::make_shared<nn::Ia3>();
        ia3->attach(*model, dtype);
        return ia3;
      },
  });
}

}  // namespace iapt::config
