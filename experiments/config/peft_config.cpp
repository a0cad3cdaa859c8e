#include "experiments/config/peft_config.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/ranges.h>
#include <filesystem>

#include "experiments/config/yaml_reader.h"
#include "nn/peft/full.h"
#include "nn/peft/ia3.h"

namespace iapt::config {

models::LlamaConfig named_shape(const std::string& name) {
  models::LlamaConfig c;
  c.vocab_size = 32000;
  c.rms_norm_eps = 1e-5;
  c.max_position_embeddings = 4096;
  if (name == "llama-2-7b") {
    c.hidden_size = 4096, c.intermediate_size = 11008, c.num_hidden_layers = 32;
    c.num_attention_heads = c.num_key_value_heads = 32;
  } else if (name == "llama-2-13b") {
    c.hidden_size = 5120, c.intermediate_size = 13824, c.num_hidden_layers = 40;
    c.num_attention_heads = c.num_key_value_heads = 40;
  } else if (name == "tinyllama-1.1b") {
    c.hidden_size = 2048, c.intermediate_size = 5632, c.num_hidden_layers = 22;
    c.num_attention_heads = 32, c.num_key_value_heads = 4, c.max_position_embeddings = 2048;
  } else {
    throw Error(fmt::format("unknown backbone shape '{}' (llama-2-7b, llama-2-13b, tinyllama-1.1b)", name));
  }
  return c;
}

std::string expand_env(const std::string& text, const std::string& where) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "${") == 0) {
      const size_t end = text.find('}', i);
      IAPT_CHECK(end != std::string::npos, "{}: unterminated ${{ in '{}'", where, text);
      const std::string var = text.substr(i + 2, end - i - 2);
      const char* value = std::getenv(var.c_str());
      IAPT_CHECK(value, "{}: environment variable {} is not set (used in '{}')", where, var, text);
      out += value;
      i = end + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

BackboneSpec read_backbone(YamlMap m, const std::string& file) {
  BackboneSpec b;
  if (m.has("path")) {
    b.path = config_path(m.require<std::string>("path"), file, "backbone.path");
    if (m.has("tokenizer")) b.tokenizer = config_path(m.require<std::string>("tokenizer"), file, "backbone.tokenizer");
    const std::string cfg = (std::filesystem::path(b.path) / "config.json").string();
    b.config = models::LlamaConfig::from_json_file(cfg);
  } else {
    IAPT_CHECK(m.has("shape"), "{}: backbone needs 'path' (a model directory) or 'shape'", file);
    if (m.is_scalar("shape")) {  // a name; else config.json's keys inline
      b.shape_name = m.require<std::string>("shape");
      b.config = named_shape(b.shape_name);
    } else {
      YamlMap s = m.map("shape");
      models::LlamaConfig& c = b.config;
      c.vocab_size = s.require<int64_t>("vocab_size");
      c.hidden_size = s.require<int64_t>("hidden_size");
      c.intermediate_size = s.require<int64_t>("intermediate_size");
      c.num_hidden_layers = s.require<int64_t>("num_hidden_layers");
      c.num_attention_heads = s.require<int64_t>("num_attention_heads");
      c.num_key_value_heads = s.get<int64_t>("num_key_value_heads", c.num_attention_heads);
      c.tie_word_embeddings = s.get<bool>("tie_word_embeddings", false);
      s.finish();
    }
  }
  m.finish();
  return b;
}

std::string config_path(const std::string& value, const std::string& file, const std::string& key) {
  const std::string path = expand_env(value, file + ": " + key);
  if (!std::filesystem::path(path).is_relative()) return path;
  // A variable set in the shell holds a path relative to where the command runs, not to the file:
  // IAPT_SHARED=../shared means the same folder for every config the command reads, sweeps' too.
  if (value.rfind("${", 0) == 0) return std::filesystem::absolute(path).lexically_normal().string();
  return (std::filesystem::path(file).parent_path() / path).lexically_normal().string();
}

namespace {

constexpr int64_t kMaxDegree = 16;  // of a rational's numerator or denominator

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

// One part's start: `part` (default, zero or normal) and `part`_std in method.start.
nn::ParameterStart read_start(YamlMap& start, const std::string& part, nn::ParameterStart fallback) {
  fallback.kind = start.choice(part, fallback.kind, nn::parameter_start_kinds());
  fallback.std = start.get_above(part + "_std", fallback.std, 0.0);
  return fallback;
}

}  // namespace

MethodSpec read_method(YamlMap m, const models::LlamaConfig& backbone) {
  const int64_t num_layers = backbone.num_hidden_layers;
  // soft tokens take positions of the model's context; sizes are bounded far below an overflow
  auto soft_tokens = [&](int64_t fallback) {
    return m.get_in<int64_t>("soft_tokens", fallback, 1, std::max<int64_t>(1, backbone.max_position_embeddings - 1));
  };
  auto size = [&](const std::string& key, int64_t fallback) { return m.get_in<int64_t>(key, fallback, 1, kMaxSize); };
  MethodSpec s;
  s.name = m.choice("name", "iapt", method_names());
  if (s.name == "iapt") {
    nn::IaptOptions& o = s.iapt;
    o.soft_tokens = soft_tokens(4);
    o.bottleneck = size("bottleneck", 320);
    if (m.is_scalar("layers"))
      m.choice("layers", "all", {"all"});  // every layer: o.layers stays empty
    else
      o.layers = m.int_list("layers", {});
    for (int64_t l : o.layers)
      IAPT_CHECK(l >= 0 && l < num_layers, "{}: {}: layer {} is not one of the model's layers 0 to {}", m.where("layers"),
                 m.key_path("layers"), l, num_layers - 1);
    o.pooler = nn::parse_pooler(m.choice("pooler", "attention", {"attention", "mean", "max", "last"}));
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
    YamlMap start = m.map("start");
    o.up_start = read_start(start, "up", o.up_start);
    o.query_start = read_start(start, "query", o.query_start);
    start.finish();
  } else if (s.name == "lora") {
    nn::LoraOptions& o = s.lora;
    o.r = size("r", 8);
    o.alpha = m.get<double>("alpha", 16.0);
    o.dropout = m.get_in<double>("dropout", 0.0, 0.0, 0.999);
    o.targets = m.string_list("targets", {"q", "v"});
    for (const auto& t : o.targets) nn::projection_name(t);  // throws on an unknown target
  } else if (s.name == "prompt_tuning") {
    s.soft_tokens = soft_tokens(20);
    YamlMap start = m.map("start");
    s.init_from_vocabulary = start.choice("embedding", "vocabulary", {"vocabulary", "random"}) == "vocabulary";
    s.prompt_random_std = start.get_above("embedding_std", s.prompt_random_std, 0.0);
    start.finish();
  } else if (s.name == "ptuning_v2") {
    s.ptuning.soft_tokens = soft_tokens(16);
    s.ptuning.reparameterize = m.get<bool>("reparameterize", false);
    s.ptuning.reparam_hidden = size("reparam_hidden", 512);
    YamlMap start = m.map("start");
    s.ptuning.prefix_start = read_start(start, "prefix", s.ptuning.prefix_start);
    start.finish();
  } else if (s.name == "idpg") {
    s.soft_tokens = soft_tokens(4);
    s.bottleneck = size("bottleneck", 64);
    s.idpg_per_layer = m.get<bool>("per_layer", false);
    YamlMap start = m.map("start");
    s.idpg_up_start = read_start(start, "up", s.idpg_up_start);
    start.finish();
  } else if (s.name == "lpt") {
    s.lpt.soft_tokens = soft_tokens(4);
    s.lpt.bottleneck = size("bottleneck", 64);
    s.lpt.layer = m.get_in<int64_t>("layer", -1, -1, num_layers - 1);  // -1: the middle layer
    s.lpt.pooler = nn::parse_pooler(m.choice("pooler", "attention", {"attention", "mean", "max", "last"}));
    YamlMap start = m.map("start");
    s.lpt.up_start = read_start(start, "up", s.lpt.up_start);
    s.lpt.query_start = read_start(start, "query", s.lpt.query_start);
    start.finish();
  } else if (s.name == "adapter" || s.name == "parallel_adapter") {
    s.adapter.parallel = s.name == "parallel_adapter";
    s.adapter.bottleneck = size("bottleneck", 64);
    s.adapter.placement = m.choice("placement", "both", {"attention", "mlp", "both"});
    s.adapter.scale = m.get<double>("scale", 1.0);
  }
  m.finish();
  return s;
}

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names{"iapt", "lora", "prompt_tuning", "ptuning_v2", "idpg", "lpt",
                                              "adapter", "parallel_adapter", "ia3", "full"};
  return names;
}

PeftConfig load_peft_config(const std::string& path) {
  YamlMap root(load_yaml_file(path), path, "");
  PeftConfig c;
  c.file = path;
  c.backbone = read_backbone(root.map("backbone"), path);
  c.method = read_method(root.map("method"), c.backbone.config);
  root.finish();
  return c;
}

int64_t backbone_parameters(const models::LlamaConfig& c) {
  const int64_t d = c.hidden_size, hd = d / c.num_attention_heads, kv = c.num_key_value_heads * hd;
  const int64_t per_layer = d * d + 2 * kv * d + d * d + 3 * d * c.intermediate_size + 2 * d;
  return c.vocab_size * d * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * per_layer + d;
}

int64_t tunable_parameters(const models::LlamaConfig& c, const MethodSpec& m) {
  const int64_t d = c.hidden_size, hd = d / c.num_attention_heads, kv = c.num_key_value_heads * hd,
                f = c.intermediate_size, layers = c.num_hidden_layers;
  if (m.name == "iapt") return nn::Iapt::count_parameters(d, layers, m.iapt);
  if (m.name == "full") return backbone_parameters(c);
  if (m.name == "prompt_tuning") return m.soft_tokens * d;
  if (m.name == "idpg") return d * m.bottleneck + (m.idpg_per_layer ? layers : 1) * m.bottleneck * m.soft_tokens * d;
  if (m.name == "ia3") return layers * (2 * kv + f);
  if (m.name == "ptuning_v2") {
    const int64_t width = layers * 2 * kv, k = m.ptuning.soft_tokens, h = m.ptuning.reparam_hidden;
    return m.ptuning.reparameterize ? k * d + (d * h + h) + (h * width + width) : k * width;
  }
  if (m.name == "lpt") {
    nn::IaptOptions g;
    g.soft_tokens = m.lpt.soft_tokens, g.bottleneck = m.lpt.bottleneck, g.pooler = m.lpt.pooler;
    g.activation = m.lpt.activation;
    return nn::Iapt::count_parameters(d, 1, g);
  }
  if (m.name == "adapter" || m.name == "parallel_adapter") {
    const int64_t per_adapter = 2 * d * m.adapter.bottleneck + m.adapter.bottleneck + d;
    return layers * per_adapter * (m.adapter.placement == "both" ? 2 : 1);
  }
  IAPT_CHECK(m.name == "lora", "tunable_parameters: unknown method '{}'", m.name);
  int64_t per_layer = 0;  // r (in + out) per target projection
  for (const auto& t : m.lora.targets) {
    if (t == "q" || t == "o") per_layer += d + d;
    else if (t == "k" || t == "v") per_layer += d + kv;
    else per_layer += d + f;  // gate, up, down
  }
  return per_layer * m.lora.r * layers;
}

std::shared_ptr<nn::PeftMethod> make_method(const MethodSpec& m, const std::shared_ptr<models::LlamaForCausalLM>& model,
                                            DType dtype) {
  const models::LlamaConfig& c = model->config;
  const int64_t d = c.hidden_size, layers = c.num_hidden_layers;
  if (m.name == "full") return std::make_shared<nn::FullFineTuning>(model);
  model->freeze();
  if (m.name == "iapt") return std::make_shared<nn::Iapt>(d, layers, m.iapt, dtype);
  if (m.name == "lora") {
    auto lora = std::make_shared<nn::Lora>(m.lora);
    lora->attach(*model, dtype);
    return lora;
  }
  if (m.name == "ia3") {
    auto ia3 = std::make_shared<nn::Ia3>();
    ia3->attach(*model, dtype);
    return ia3;
  }
  if (m.name == "prompt_tuning")
    return std::make_shared<nn::PromptTuning>(
        m.soft_tokens, d, m.init_from_vocabulary ? model->model->embed_tokens->weight.data() : Tensor(), dtype,
        m.prompt_random_std);
  if (m.name == "ptuning_v2")
    return std::make_shared<nn::PtuningV2>(d, layers, c.num_key_value_heads, d / c.num_attention_heads, m.ptuning, dtype);
  if (m.name == "idpg")
    return std::make_shared<nn::Idpg>(m.soft_tokens, d, m.bottleneck, m.idpg_per_layer ? layers : 0, dtype,
                                      m.idpg_up_start);
  if (m.name == "lpt") return std::make_shared<nn::Lpt>(d, layers, m.lpt, dtype);
  if (m.name == "adapter" || m.name == "parallel_adapter") return std::make_shared<nn::Adapters>(d, layers, m.adapter, dtype);
  throw Error(fmt::format("make_method: unknown method '{}'", m.name));
}

}  // namespace iapt::config
