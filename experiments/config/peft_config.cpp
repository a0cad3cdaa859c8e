#include "experiments/config/peft_config.h"

#include <cstdlib>
#include <filesystem>

#include "experiments/config/yaml_reader.h"

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

namespace {

BackboneSpec read_backbone(YamlMap m, const std::string& file) {
  BackboneSpec b;
  if (m.has("path")) {
    b.path = expand_env(m.require<std::string>("path"), file + ": backbone.path");
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

nn::ActivationSpec read_activation(YamlMap a) {
  nn::ActivationSpec spec;
  std::vector<std::string> kinds{"rational"};
  for (const auto& n : nn::named_activations()) kinds.push_back(n);
  spec.kind = a.choice("kind", "rational", kinds);
  if (spec.kind == "rational") {
    spec.rational.version = nn::parse_rational_version(a.choice("version", "B", {"A", "B", "C", "N"}));
    std::vector<int64_t> deg = a.int_list("degrees", {6, 5});
    IAPT_CHECK(deg.size() == 2, "{}: degrees: expected [numerator, denominator]", a.key_path("degrees"));
    spec.rational.deg_num = static_cast<int>(deg[0]);
    spec.rational.deg_den = static_cast<int>(deg[1]);
    spec.rational.init = a.choice("init", "gelu", nn::named_activations());
  }
  a.finish();
  return spec;
}

MethodSpec read_method(YamlMap m, int64_t num_layers) {
  MethodSpec s;
  s.name = m.choice("name", "iapt", {"iapt", "lora", "full"});
  if (s.name == "iapt") {
    nn::IaptOptions& o = s.iapt;
    o.soft_tokens = m.get<int64_t>("soft_tokens", 4);
    o.bottleneck = m.get<int64_t>("bottleneck", 320);
    if (m.is_scalar("layers"))
      m.choice("layers", "all", {"all"});  // every layer: o.layers stays empty
    else
      o.layers = m.int_list("layers", {});
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
  } else if (s.name == "lora") {
    nn::LoraOptions& o = s.lora;
    o.r = m.get<int64_t>("r", 8);
    o.alpha = m.get<double>("alpha", 16.0);
    o.dropout = m.get<double>("dropout", 0.0);
    o.targets = m.string_list("targets", {"q", "v"});
    for (const auto& t : o.targets) nn::projection_name(t);  // throws on an unknown target
  }
  m.finish();
  return s;
}

}  // namespace

PeftConfig load_peft_config(const std::string& path) {
  YamlMap root(load_yaml_file(path), path, "");
  PeftConfig c;
  c.file = path;
  c.backbone = read_backbone(root.map("backbone"), path);
  c.method = read_method(root.map("method"), c.backbone.config.num_hidden_layers);
  root.finish();
  return c;
}

int64_t backbone_parameters(const models::LlamaConfig& c) {
  const int64_t d = c.hidden_size, hd = d / c.num_attention_heads, kv = c.num_key_value_heads * hd;
  const int64_t per_layer = d * d + 2 * kv * d + d * d + 3 * d * c.intermediate_size + 2 * d;
  return c.vocab_size * d * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * per_layer + d;
}

int64_t tunable_parameters(const models::LlamaConfig& c, const MethodSpec& m) {
  if (m.name == "iapt") return nn::Iapt::count_parameters(c.hidden_size, c.num_hidden_layers, m.iapt);
  if (m.name == "full") return backbone_parameters(c);
  // lora: r (in + out) per target projection per layer
  const int64_t d = c.hidden_size, hd = d / c.num_attention_heads, kv = c.num_key_value_heads * hd,
                f = c.intermediate_size;
  int64_t per_layer = 0;
  for (const auto& t : m.lora.targets) {
    if (t == "q" || t == "o") per_layer += d + d;
    else if (t == "k" || t == "v") per_layer += d + kv;
    else per_layer += d + f;  // gate, up, down
  }
  return per_layer * m.lora.r * c.num_hidden_layers;
}

}  // namespace iapt::config
