#include "experiments/config/peft_config.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/ranges.h>
#include <filesystem>

#include "experiments/config/methods.h"
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

BackboneSpec read_backbone(YamlMap m, const std::string& file) {
  BackboneSpec b;
  const std::string dtype = m.choice("dtype", "f32", {"f32", "bf16", "f16"});
  const std::string compute = m.choice("compute", "f32", {"f32", "bf16", "f16"});
  const models::Precision p = models::precision_of(dtype, compute, "dtype: ", file + ": backbone.compute: ");
  b.weights = p.weights;
  b.activations_16bit = p.activations_in_weights_dtype;
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

MethodSpec method_defaults(const std::string& name) {
  const MethodEntry& entry = method_entry(name);
  return {entry.name, entry.defaults()};
}

MethodSpec read_method(YamlMap m, const models::LlamaConfig& backbone) {
  MethodSpec s = method_defaults(m.choice("name", "iapt", method_names()));
  MethodReader reader{m, backbone};
  method_entry(s.name).read(reader, s.options);
  m.finish();
  return s;
}

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& e : methods()) n.push_back(e.name);
    return n;
  }();
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

int64_t tunable_parameters(const models::LlamaConfig& backbone, const MethodSpec& method) {
  return method_entry(method.name).count(backbone, method.options);
}

int64_t text_position_offset(const MethodSpec& method) {
  return method_entry(method.name).text_position_offset(method.options);
}

std::shared_ptr<nn::PeftMethod> make_method(const MethodSpec& m, const std::shared_ptr<models::LlamaForCausalLM>& model,
                                            DType dtype) {
  const MethodEntry& entry = method_entry(m.name);
  if (!entry.trains_backbone) model->freeze();
  return entry.make(m.options, model, dtype);
}

}  // namespace iapt::config
