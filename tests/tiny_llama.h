#pragma once
// The tiny LLaMA shape the method tests build (random weights): vocabulary 30, width 16, three
// layers, four query heads over two key/value heads.
#include "models/llama_config.h"

namespace iapt::testing {

inline models::LlamaConfig tiny_llama_config(int64_t layers = 3) {
  models::LlamaConfig c;
  c.vocab_size = 30;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.rms_norm_eps = 1e-5;
  return c;
}

}  // namespace iapt::testing
