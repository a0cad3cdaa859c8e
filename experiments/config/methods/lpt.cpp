// The LPT entry: nn::LptOptions from method: {name: lpt, soft_tokens, bottleneck, layer, pooler,
// start: {up, query}}.
#include "experiments/config/methods.h"
#include "nn/peft/iapt.h"
#include "nn/peft/prompts.h"

namespace iapt::config {

MethodEntry lpt_method() {
  return method_entry_of(TypedMethodEntry<nn::LptOptions>{
      .name = "lpt",
      .read =
          [](MethodReader& r, nn::LptOptions& o) {
            o.soft_tokens = r.soft_tokens(4);
            o.bottleneck = r.size("bottleneck", 64);
            o.layer = r.m.get_in<int64_t>("layer", -1, -1, r.backbone.num_hidden_layers - 1);  // -1: the middle layer
            o.pooler = read_pooler(r.m);
            read_starts(r.m, {{"up", &o.up_start}, {"query", &o.query_start}});
          },
      .count =
          [](const models::LlamaConfig& c, const nn::LptOptions& o) {
            nn::IaptOptions g;  // one generator, at its layer
            g.soft_tokens = o.soft_tokens, g.bottleneck = o.bottleneck, g.pooler = o.pooler;
            g.activation = o.activation;
            return nn::Iapt::count_parameters(c.hidden_size, 1, g);
          },
      .make = [](const nn::LptOptions& o, const ModelPtr& model, DType dtype) -> MethodPtr {
        return std::make_shared<nn::Lpt>(model->config.hidden_size, model->config.num_hidden_layers, o, dtype);
      },
      .text_position_offset = [](const nn::LptOptions& o) { return o.soft_tokens; },
  });
}

}  // namespace iapt::config
