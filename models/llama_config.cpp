#include "models/llama_config.h"

#include <cmath>
#include <fstream>
#include <utility>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace iapt::models {

namespace {

template <class T>
void read(const nlohmann::json& j, const char* key, T& out, const std::string& source, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    IAPT_CHECK(!required, "{}: missing required key '{}'", source, key);
    return;
  }
  try {
    out = j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(fmt::format("{}: key '{}' has value {}, expected {}", source, key, j[key].dump(),
                            std::is_same_v<T, bool> ? "a boolean" : (std::is_integral_v<T> ? "an integer" : "a number")));
  }
}

}  // namespace

LlamaConfig LlamaConfig::from_json_text(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number past double
    throw Error(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  IAPT_CHECK(j.is_object(), "{}: expected a JSON object", source);
  LlamaConfig c;
  read(j, "vocab_size", c.vocab_size, source, true);
  read(j, "hidden_size", c.hidden_size, source, true);
  read(j, "intermediate_size", c.intermediate_size, source, true);
  read(j, "num_hidden_layers", c.num_hidden_layers, source, true);
  read(j, "num_attention_heads", c.num_attention_heads, source, true);
  c.num_key_value_heads = c.num_attention_heads;
  read(j, "num_key_value_heads", c.num_key_value_heads, source, false);
  read(j, "rms_norm_eps", c.rms_norm_eps, source, false);
  read(j, "rope_theta", c.rope_theta, source, false);
  read(j, "max_position_embeddings", c.max_position_embeddings, source, false);
  read(j, "tie_word_embeddings", c.tie_word_embeddings, source, false);
  read(j, "bos_token_id", c.bos_token_id, source, false);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array() && !j["eos_token_id"].empty())
    c.eos_token_id = j["eos_token_id"][0].get<int64_t>();  // several stop ids: the first is used
  else
    read(j, "eos_token_id", c.eos_token_id, source, false);

  if (j.contains("model_type") && j["model_type"].is_string())
    IAPT_CHECK(j["model_type"] == "llama" || j["model_type"] == "mistral",
               "{}: model_type '{}' is not a LLaMA-architecture model", source, j["model_type"].get<std::string>());
  if (j.contains("hidden_act") && j["hidden_act"].is_string())
    IAPT_CHECK(j["hidden_act"] == "silu", "{}: hidden_act '{}' is not supported (silu is)", source,
               j["hidden_act"].get<std::string>());
  IAPT_CHECK(!j.contains("rope_scaling") || j["rope_scaling"].is_null(),
             "{}: rope_scaling {} is not supported", source, j.contains("rope_scaling") ? j["rope_scaling"].dump() : "");
  for (const char* key : {"attention_bias", "mlp_bias"})
    IAPT_CHECK(!j.contains(key) || !j[key].is_boolean() || !j[key].get<bool>(), "{}: {} = true is not supported",
               source, key);
  for (auto [key, value] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size},
                             {"hidden_size", c.hidden_size},
                             {"intermediate_size", c.intermediate_size},
                             {"num_hidden_layers", c.num_hidden_layers},
                             {"num_attention_heads", c.num_attention_heads},
                             {"num_key_value_heads", c.num_key_value_heads},
                             {"max_position_embeddings", c.max_position_embeddings}})
    IAPT_CHECK(value > 0, "{}: {} is {}; expected a positive integer", source, key, value);
  for (auto [key, value] : {std::pair<const char*, double>{"rms_norm_eps", c.rms_norm_eps}, {"rope_theta", c.rope_theta}})
    IAPT_CHECK(std::isfinite(value) && value > 0, "{}: {} is {}; expected a positive number", source, key, value);
  IAPT_CHECK(c.hidden_size % c.num_attention_heads == 0 && c.num_attention_heads % c.num_key_value_heads == 0,
             "{}: hidden_size {}, num_attention_heads {} and num_key_value_heads {} do not divide", source,
             c.hidden_size, c.num_attention_heads, c.num_key_value_heads);
  return c;
}

LlamaConfig LlamaConfig::from_json_file(const std::string& path) {
  std::ifstream in(path);
  IAPT_CHECK(in.good(), "{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return from_json_text(ss.str(), path);
}

std::string LlamaConfig::to_json() const {
  nlohmann::ordered_json j;
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["max_position_embeddings"] = max_position_embeddings;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] = eos_token_id;
  j["hidden_act"] = "silu";
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

}  // namespace iapt::models
