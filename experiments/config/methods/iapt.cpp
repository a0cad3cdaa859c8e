// The IAPT entry: nn::IaptOptions from method: {name: iapt, ...} (the keys in peft_config.h).
#include "experiments/config/methods.h"
#include "nn/peft/iapt.h"

namespace iapt::config {

MethodEntry iapt_method() {
  return method_entry_of(TypedMethodEntry<nn::IaptOptions>{
      .name = "iapt",
      .read =
          [](MethodReader& r, nn::IaptOptions& o) {
            YamlMap& m = r.m;
            const int64_t num_layers = r.backbone.num_hidden_layers;
            o.soft_tokens = r.soft_tokens(4);
            o.bottleneck = r.size("bottleneck", 320);
            if (!m.has("layers") || m.is_scalar("layers"))
              m.choice("layers", "all", {"all"});  // every layer: o.layers stays empty
            else
              o.layers = m.int_list("layers", {});
            for (int64_t l : o.layers)
              IAPT_CHECK(l >= 0 && l < num_layers, "{}: {}: layer {} is not one of the model's layers 0 to {}",
                         m.where("layers"), m.key_path("layers"), l, num_layers - 1);
            o.pooler = read_pooler(m);
            o.activation = read_activation(m.map("activation"));
            if (m.has("activation_pattern")) {
              YamlMap p = m.map("activation_pattern");
              nn::ActivationSpec lower, upper;
              lower.kind = p.choice("lower", "relu", nn::named_activations());
              upper.kind = p.choice("upper", "gelu", nn::named_activations());
              p.finish();
              const int64_t n = o.layers.empty() ? num_layers : static_cast<int64_t>(o.layers.size());
              o.per_layer_activation = nn::depth_pattern(lower, upper, n);
            }
            o.shift_text_positions = m.get<bool>("shift_text_positions", true);
            o.coefficient_learning = m.choice("coefficient_learning", "joint", {"joint", "bilevel"});
            o.gated_prefix = m.get<bool>("gated_prefix", false);
            read_starts(m, {{"up", &o.up_start}, {"query", &o.query_start}});
          },
      .count =
          [](const models::LlamaConfig& c, const nn::IaptOptions& o) {
            return nn::Iapt::count_parameters(c.hidden_size, c.num_hidden_layers, o);
          },
      .make = [](const nn::IaptOptions& o, const ModelPtr& model, DType dtype) -> MethodPtr {
        return std::make_shared<nn::Iapt>(model->config.hidden_size, model->config.num_hidden_layers, o, dtype);
      },
      .text_position_offset = [](const nn::IaptOptions& o) { return o.shift_text_positions ? o.soft_tokens : 0; },
  });
}

}  // namespace iapt::config
