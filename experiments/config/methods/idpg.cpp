// The IDPG entry: nn::IdpgOptions from method: {name: idpg, soft_tokens, bottleneck, per_layer,
// start: {up, up_std}}.
#include "experiments/config/methods.h"
#include "nn/peft/prompts.h"

namespace iapt::config {

MethodEntry idpg_method() {
  return method_entry_of(TypedMethodEntry<nn::IdpgOptions>{
      .name = "idpg",
      .read =
          [](MethodReader& r, nn::IdpgOptions& o) {
            o.soft_tokens = r.soft_tokens(4);
            o.bottleneck = r.size("bottleneck", 64);
            o.per_layer = r.m.get<bool>("per_layer", false);
            read_starts(r.m, {{"up", &o.up_start}});
          },
      .count =
          [](const models::LlamaConfig& c, const nn::IdpgOptions& o) {
            const Sizes z(c);
            return z.d * o.bottleneck + (o.per_layer ? z.layers : 1) * o.bottleneck * o.soft_tokens * z.d;
          },
      .make = [](const nn::IdpgOptions& o, const ModelPtr& model, DType dtype) -> MethodPtr {
        return std::make_shared<nn::Idpg>(o.soft_tokens, model->config.hidden_size, o.bottleneck,
                                          o.per_layer ? model->config.num_hidden_layers : 0, dtype, o.up_start);
      },
      .text_position_offset = [](const nn::IdpgOptions& o) { return o.soft_tokens; },
  });
}

}  // namespace iapt::config
