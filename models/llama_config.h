#pragma once
// The LLaMA architecture's hyper-parameters, read from a Hugging Face config.json.
#include <cstdint>
#include <string>

namespace iapt::models {

struct LlamaConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  int64_t max_position_embeddings = 4096;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;

  // Missing optional keys take Hugging Face's LlamaConfig defaults; a wrong type, a missing
  // required key, or a feature this implementation lacks (rope_scaling, biases, another
  // activation) is an error naming the file and the key.
  static LlamaConfig from_json_file(const std::string& path);
  static LlamaConfig from_json_text(const std::string& text, const std::string& source);
  std::string to_json() const;
};

}  // namespace iapt::models
