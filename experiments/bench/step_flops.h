#pragma once
// The benchmark shapes and the floating-point work of one training step's matrix products, counted
// the way both frameworks compute them (attention over the full T x T matrix; a method's own small
// products left out). Per token and layer, forward: q and o 2 d^2 each, k and v 2 d kv each, the
// MLP 3 x 2 d ffn, scores and weighted values 2 T d each; the head 2 d V. Backward: the input
// gradient of every product (as much again), attention twice its forward (dQ, dK, dP, dV), and,
// when the backbone trains, the weight gradients (as much as the forward of the weights). The head
// counts the rows that are projected: iapt's response loss projects only the positions that
// predict a response token.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "models/llama_config.h"

namespace iapt::bench {

inline models::LlamaConfig bench_shape(const std::string& name) {
  models::LlamaConfig c;
  c.rms_norm_eps = 1e-5;
  c.max_position_embeddings = 1024;
  if (name == "en-llama-6m") {  // ../shared/models/en-llama-6m/config.json
    c.vocab_size = 8192, c.hidden_size = 256, c.intermediate_size = 688, c.num_hidden_layers = 6;
    c.num_attention_heads = 8, c.num_key_value_heads = 4, c.tie_word_embeddings = true;
  } else if (name == "d512") {
    c.vocab_size = 8192, c.hidden_size = 512, c.intermediate_size = 1376, c.num_hidden_layers = 8;
    c.num_attention_heads = 8, c.num_key_value_heads = 8, c.tie_word_embeddings = true;
  } else {
    throw Error("bench shape '" + name + "': en-llama-6m or d512");
  }
  return c;
}

struct StepFlops {
  double forward = 0, backward = 0;
};

inline StepFlops step_flops(const models::LlamaConfig& c, int64_t batch, int64_t seq, int64_t head_rows,
                            bool weights_train) {
  const double d = static_cast<double>(c.hidden_size), ffn = static_cast<double>(c.intermediate_size);
  const double kv = d * static_cast<double>(c.num_key_value_heads) / static_cast<double>(c.num_attention_heads);
  const double tokens = static_cast<double>(batch * seq), layers = static_cast<double>(c.num_hidden_layers);
  const double weights = tokens * layers * (4 * d * d + 4 * d * kv + 6 * d * ffn) +
                         static_cast<double>(head_rows) * 2 * d * static_cast<double>(c.vocab_size);
  const double attention = tokens * layers * 4 * static_cast<double>(seq) * d;
  return {weights + attention, weights + 2 * attention + (weights_train ? weights : 0.0)};
}

}  // namespace iapt::bench
