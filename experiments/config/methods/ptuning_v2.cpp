// The P-tuning v2 entry: nn::PtuningV2Options from method: {name: ptuning_v2, soft_tokens,
// reparameterize, reparam_hidden, start: {prefix, prefix_std}}.
#include "experiments/config/methods.h"
#include "nn/peft/ptuning_v2.h"

namespace iapt::config {

MethodEntry ptuning_v2_method() {
  return method_entry_of(TypedMethodEntry<nn::PtuningV2Options>{
      .name = "ptuning_v2",
      .read =
          [](MethodReader& r, nn::PtuningV2Options& o) {
            o.soft_tokens = r.soft_tokens(16);
            o.reparameterize = r.m.get<bool>("reparameterize", false);
            o.reparam_hidden = r.size("reparam_hidden", 512);
            read_starts(r.m, {{"prefix", &o.prefix_start}});
          },
      .count =
          [](const models::LlamaConfig& c, const nn::PtuningV2Options& o) {
            const Sizes z(c);
            const int64_t width = z.layers * 2 * z.kv, k = o.soft_tokens, h = o.reparam_hidden;
            return o.reparameterize ? k * z.d + (z.d * h + h) + (h * width + width) : k * width;
          },
      .make = [](const nn::PtuningV2Options& o, const ModelPtr& model, DType dtype) -> MethodPtr {
        const models::LlamaConfig& c = model->config;
        return std::make_shared<nn::PtuningV2>(c.hidden_size, c.num_hidden_layers, c.num_key_value_heads,
                                               c.hidden_size / c.num_attention_heads, o, dtype);
      },
      .text_position_offset = [](const nn::PtuningV2Options& o) { return o.soft_tokens; },
  });
}

}  // namespace iapt::config
