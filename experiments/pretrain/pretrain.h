#pragma once
// Pretraining a small LLaMA-architecture model from scratch on a text file: a SentencePiece
// tokenizer trained on the same text (Debian's libsentencepiece_train), then causal-LM training on
// random windows of the token stream with AdamW and a cosine schedule. The result is a Hugging
// Face model directory (config.json, model.safetensors, tokenizer.model, training.json) that every
// other command loads like a downloaded checkpoint.
#include <cstdint>
#include <functional>
#include <string>

#include "models/llama_config.h"

namespace iapt::pretrain {

struct PretrainOptions {
  std::string corpus;  // one document per line
  std::string valid;   // held-out text in the same format ("" : none)
  std::string out_dir;
  int64_t vocab_size = 2000;
  int64_t hidden = 128, layers = 4, heads = 4, kv_heads = 4, ffn = 344;
  int64_t sequence = 64, batch = 32, steps = 1500;
  double lr = 3e-3, warmup_ratio = 0.05, weight_decay = 0.01;
  uint64_t seed = 1;
};

struct PretrainResult {
  int64_t parameters = 0, corpus_tokens = 0, trained_tokens = 0;
  double first_loss = 0, last_loss = 0;    // mean over the first and the last 50 steps (a quarter of fewer)
  double valid_nll_before = 0, valid_nll_after = 0;  // per token, 0 without a valid file
  double seconds = 0;
};

// step callback: (step, steps, loss, tokens per second)
using PretrainProgress = std::function<void(int64_t, int64_t, double, double)>;

PretrainResult pretrain(const PretrainOptions& options, const PretrainProgress& progress = {});

}  // namespace iapt::pretrain
