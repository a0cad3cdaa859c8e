#include "experiments/config/methods.h"

#include <fmt/ranges.h>
#include <initializer_list>
#include <utility>

#include "kernels/rational_math.h"
#include "nn/peft/full.h"
#include "nn/peft/ia3.h"

namespace iapt::config {

int64_t MethodReader::soft_tokens(int64_t fallback) const {
  return m.get_in<int64_t>("soft_tokens", fallback, 1, std::max<int64_t>(1, backbone.max_position_embeddings - 1));
}

int64_t MethodReader::size(const std::string& key, int64_t fallback) const {
  return m.get_in<int64_t>(key, fallback, 1, kMaxSize);
}

namespace {

using Model = std::shared_ptr<models::LlamaForCausalLM>;
using Method = std::shared_ptr<nn::PeftMethod>;

constexpr int64_t kMaxDegree = kernels::kMaxRationalDegree;  // of a rational's numerator or denominator

nn::ActivationSpec read_activation(YamlMap a) {
  nn::ActivationSpec spec;
  std::vector<std::string> kinds{"rational"};
  for (const auto& n : nn::named_activations()) kinds.push_back(n);
  spec.kind = a.choice("kind", "rational", kinds);
  if (spec.kind == "rational") {
    spec.rational.version = nn::parse_rational_version(a.choice("version", "B", {"A", "B", "C", "N"}));
    std::vector<int64_t> deg = a.int_list("degrees", {6, 5});
    IAPT_CHECK(deg.size() == 2 && deg[0] >= 0 && deg[0] <= kMaxDegree && deg[1] >= 0 && deg[1] <= kMaxDegree,
               "{}: {}: expected [numerator, denominator], each from 0 to {}, got {}", a.where("degrees"),
               a.key_path("degrees"), kMaxDegree, fmt::join(deg, ", "));
    spec.rational.deg_num = static_cast<int>(deg[0]);
    spec.rational.deg_den = static_cast<int>(deg[1]);
    spec.rational.init = a.choice("init", "gelu", nn::named_activations());
  }
  a.finish();
  return spec;
}

// method.start: for each part, its start (default, zero or normal) under the part's name and its
// standard deviation under `part`_std; what is not given keeps the part's own.
void read_starts(YamlMap& m, std::initializer_list<std::pair<const char*, nn::ParameterStart*>> parts) {
  YamlMap start = m.map("start");
  for (auto [part, value] : parts) {
    value->kind = start.choice(part, value->kind, nn::parameter_start_kinds());
    value->std = start.get_above(std::string(part) + "_std", value->std, 0.0);
  }
  start.finish();
}

nn::PoolerKind read_pooler(YamlMap& m) {
  return nn::parse_pooler(m.choice("pooler", "attention", {"attention", "mean", "max", "last"}));
}

// The shape's sizes the counts are written in.
struct Sizes {
  int64_t d, kv, f, layers;
  explicit Sizes(const models::LlamaConfig& c)
      : d(c.hidden_size), kv(c.num_key_value_heads * (c.hidden_size / c.num_attention_heads)), f(c.intermediate_size),
        layers(c.num_hidden_layers) {}
};

MethodEntry iapt_entry() {
  return {
      .name = "iapt",
      .read =
          [](MethodReader& r, MethodSpec& s) {
            YamlMap& m = r.m;
            const int64_t num_layers = r.backbone.num_hidden_layers;
            nn::IaptOptions& o = s.iapt;
            o.soft_tokens = r.soft_tokens(4);
            o.bottleneck = r.size("bottleneck", 320);
            if (m.is_scalar("layers"))
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
      .count = [](const models::LlamaConfig& c,
                  const MethodSpec& m) { return nn::Iapt::count_parameters(c.hidden_size, c.num_hidden_layers, m.iapt); },
      .make = [](const MethodSpec& m, const Model& model,
                 DType dtype) -> Method {
        return std::make_shared<nn::Iapt>(model->config.hidden_size, model->config.num_hidden_layers, m.iapt, dtype);
      },
      .text_position_offset = [](const MethodSpec& m) { return m.iapt.shift_text_positions ? m.iapt.soft_tokens : 0; },
  };
}

MethodEntry lora_entry() {
  return {
      .name = "lora",
      .read =
          [](MethodReader& r, MethodSpec& s) {
            nn::LoraOptions& o = s.lora;
            o.r = r.size("r", 8);
            o.alpha = r.m.get<double>("alpha", 16.0);
            o.dropout = r.m.get_in<double>("dropout", 0.0, 0.0, 0.999);
            o.targets = r.m.string_list("targets", {"q", "v"});
            for (const auto& t : o.targets) nn::projection_name(t);  // throws on an unknown target
          },
      .count =
          [](const models::LlamaConfig& c, const MethodSpec& m) {
            const Sizes z(c);
            int64_t per_layer = 0;  // r (in + out) per target projection
            for (const auto& t : m.lora.targets) {
              if (t == "q" || t == "o") per_layer += z.d + z.d;
              else if (t == "k" || t == "v") per_layer += z.d + z.kv;
              else per_layer += z.d + z.f;  // gate, up, down
            }
            return per_layer * m.lora.r * z.layers;
          },
      .make = [](const MethodSpec& m, const Model& model, DType dtype) -> Method {
        auto lora = std::make_shared<nn::Lora>(m.lora);
        lora->attach(*model, dtype);
        return lora;
      },
  };
}

MethodEntry prompt_tuning_entry() {
  return {
      .name = "prompt_tuning",
      .read =
          [](MethodReader& r, MethodSpec& s) {
            s.soft_tokens = r.soft_tokens(20);
            YamlMap start = r.m.map("start");
            s.init_from_vocabulary = start.choice("embedding", "vocabulary", {"vocabulary", "random"}) == "vocabulary";
            s.prompt_random_std = start.get_above("embedding_std", s.prompt_random_std, 0.0);
            start.finish();
          },
      .count = [](const models::LlamaConfig& c, const MethodSpec& m) { return m.soft_tokens * c.hidden_size; },
      .make = [](const MethodSpec& m, const Model& model, DType dtype) -> Method {
        return std::make_shared<nn::PromptTuning>(
            m.soft_tokens, model->config.hidden_size,
            m.init_from_vocabulary ? model->model->embed_tokens->weight.data() : Tensor(), dtype, m.prompt_random_std);
      },
      .text_position_offset = [](const MethodSpec& m) { return m.soft_tokens; },
  };
}

MethodEntry ptuning_v2_entry() {
  return {
      .name = "ptuning_v2",
      .read =
          [](MethodReader& r, MethodSpec& s) {
            s.ptuning.soft_tokens = r.soft_tokens(16);
            s.ptuning.reparameterize = r.m.get<bool>("reparameterize", false);
            s.ptuning.reparam_hidden = r.size("reparam_hidden", 512);
            read_starts(r.m, {{"prefix", &s.ptuning.prefix_start}});
          },
      .count =
          [](const models::LlamaConfig& c, const MethodSpec& m) {
            const Sizes z(c);
            const int64_t width = z.layers * 2 * z.kv, k = m.ptuning.soft_tokens, h = m.ptuning.reparam_hidden;
            return m.ptuning.reparameterize ? k * z.d + (z.d * h + h) + (h * width + width) : k * width;
          },
      .make = [](const MethodSpec& m, const Model& model, DType dtype) -> Method {
        const models::LlamaConfig& c = model->config;
        return std::make_shared<nn::PtuningV2>(c.hidden_size, c.num_hidden_layers, c.num_key_value_heads,
                                               c.hidden_size / c.num_attention_heads, m.ptuning, dtype);
      },
      .text_position_offset = [](const MethodSpec& m) { return m.ptuning.soft_tokens; },
  };
}

MethodEntry idpg_entry() {
  return {
      .name = "idpg",
      .read =
          [](MethodReader& r, MethodSpec& s) {
            s.soft_tokens = r.soft_tokens(4);
            s.bottleneck = r.size("bottleneck", 64);
            s.idpg_per_layer = r.m.get<bool>("per_layer", false);
            read_starts(r.m, {{"up", &s.idpg_up_start}});
          },
      .count =
          [](const models::LlamaConfig& c, const MethodSpec& m) {
            const Sizes z(c);
            return z.d * m.bottleneck + (m.idpg_per_layer ? z.layers : 1) * m.bottleneck * m.soft_tokens * z.d;
          },
      .make = [](const MethodSpec& m, const Model& model, DType dtype) -> Method {
        return std::make_shared<nn::Idpg>(m.soft_tokens, model->config.hidden_size, m.bottleneck,
                                          m.idpg_per_layer ? model->config.num_hidden_layers : 0, dtype, m.idpg_up_start);
      },
      .text_position_offset = [](const MethodSpec& m) { return m.soft_tokens; },
  };
}

MethodEntry lpt_entry() {
  return {
      .name = "lpt",
      .read =
          [](MethodReader& r, MethodSpec& s) {
            s.lpt.soft_tokens = r.soft_tokens(4);
            s.lpt.bottleneck = r.size("bottleneck", 64);
            s.lpt.layer = r.m.get_in<int64_t>("layer", -1, -1, r.backbone.num_hidden_layers - 1);  // -1: the middle layer
            s.lpt.pooler = read_pooler(r.m);
            read_starts(r.m, {{"up", &s.lpt.up_start}, {"query", &s.lpt.query_start}});
          },
      .count =
          [](const models::LlamaConfig& c, const MethodSpec& m) {
            nn::IaptOptions g;  // one generator, at its layer
            g.soft_tokens = m.lpt.soft_tokens, g.bottleneck = m.lpt.bottleneck, g.pooler = m.lpt.pooler;
            g.activation = m.lpt.activation;
            return nn::Iapt::count_parameters(c.hidden_size, 1, g);
          },
      .make = [](const MethodSpec& m, const Model& model, DType dtype) -> Method {
        return std::make_shared<nn::Lpt>(model->config.hidden_size, model->config.num_hidden_layers, m.lpt, dtype);
      },
      .text_position_offset = [](const MethodSpec& m) { return m.lpt.soft_tokens; },
  };
}

MethodEntry adapter_entry(const std::string& name) {
  return {
      .name = name,
      .read =
          [](MethodReader& r, MethodSpec& s) {
            s.adapter.parallel = s.name == "parallel_adapter";
            s.adapter.bottleneck = r.size("bottleneck", 64);
            s.adapter.placement = r.m.choice("placement", "both", {"attention", "mlp", "both"});
            s.adapter.scale = r.m.get<double>("scale", 1.0);
          },
      .count =
          [](const models::LlamaConfig& c, const MethodSpec& m) {
            const Sizes z(c);
            const int64_t per_adapter = 2 * z.d * m.adapter.bottleneck + m.adapter.bottleneck + z.d;
            return z.layers * per_adapter * (m.adapter.placement == "both" ? 2 : 1);
          },
      .make = [](const MethodSpec& m, const Model& model, DType dtype) -> Method {
        return std::make_shared<nn::Adapters>(model->config.hidden_size, model->config.num_hidden_layers, m.adapter,
                                              dtype);
      },
  };
}

MethodEntry ia3_entry() {
  return {
      .name = "ia3",
      .read = [](MethodReader&, MethodSpec&) {},
      .count =
          [](const models::LlamaConfig& c, const MethodSpec&) {
            const Sizes z(c);
            return z.layers * (2 * z.kv + z.f);
          },
      .make = [](const MethodSpec&, const Model& model, DType dtype) -> Method {
        auto ia3 = std::make_shared<nn::Ia3>();
        ia3->attach(*model, dtype);
        return ia3;
      },
  };
}

MethodEntry full_entry() {
  return {
      .name = "full",
      .read = [](MethodReader&, MethodSpec&) {},
      .count = [](const models::LlamaConfig& c, const MethodSpec&) { return backbone_parameters(c); },
      .make = [](const MethodSpec&, const Model& model, DType) -> Method { return std::make_shared<nn::FullFineTuning>(model); },
      .trains_backbone = true,
  };
}

}  // namespace

const std::vector<MethodEntry>& methods() {
  static const std::vector<MethodEntry> entries{iapt_entry(),         lora_entry(),  prompt_tuning_entry(),
                                                ptuning_v2_entry(),   idpg_entry(),  lpt_entry(),
                                                adapter_entry("adapter"), adapter_entry("parallel_adapter"),
                                                ia3_entry(),          full_entry()};
  return entries;
}

const MethodEntry& method_entry(const std::string& name) {
  for (const auto& e : methods())
    if (e.name == name) return e;
  throw Error(fmt::format("unknown method '{}' (one of {})", name, fmt::join(method_names(), ", ")));
}

}  // namespace iapt::config
