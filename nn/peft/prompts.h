#pragma once
// The prompt-token baselines, all inserting k tokens in front of the hidden states:
//   PromptTuning (Lester et al.): k learned input embeddings, the same for every input
//   Idpg (Wu et al.): instance-dependent prompts at the input, generated from the mean of the
//     instruction's input embeddings by a bottleneck MLP: up(relu(down(mean)))
//   Lpt (Liu et al., late prompt tuning): instance-dependent prompts inserted at one middle layer,
//     from that layer's hidden states through a pooler and a bottleneck (the IAPT generator's
//     parts), then propagated through the layers above
#include "nn/peft/iapt.h"
#include "nn/peft/method.h"

namespace iapt::nn {

class PromptTuning : public PeftMethod {
 public:
  // init: rows of `vocabulary` [V, d] (k token embeddings picked at random), or random when undefined
  PromptTuning(int64_t soft_tokens, int64_t hidden, const Tensor& vocabulary, DType dtype = DType::F32);
  std::string name() const override { return "prompt_tuning"; }
  Variable insert_tokens(int64_t layer, const Variable& h) override;
  int64_t text_position_offset() const override { return embedding.size(0); }
  Variable embedding;  // [k, d]
};

class Idpg : public PeftMethod {
 public:
  Idpg(int64_t soft_tokens, int64_t hidden, int64_t bottleneck, DType dtype = DType::F32);
  std::string name() const override { return "idpg"; }
  void set_instruction_mask(const Tensor& mask) override { instruction_mask_ = mask; }
  Variable insert_tokens(int64_t layer, const Variable& h) override;
  int64_t text_position_offset() const override { return soft_tokens; }
  std::shared_ptr<Linear> down, up;  // [m, d] and [k d, m]
  std::shared_ptr<Pooler> pool;      // mean over the instruction
  int64_t soft_tokens;

 private:
  Tensor instruction_mask_;
};

struct LptOptions {
  int64_t soft_tokens = 4;
  int64_t bottleneck = 64;
  int64_t layer = -1;  // -1: the middle layer
  PoolerKind pooler = PoolerKind::Attention;
  ActivationSpec activation{"relu", {}};
};

class Lpt : public PeftMethod {
 public:
  Lpt(int64_t hidden, int64_t num_layers, const LptOptions& options, DType dtype = DType::F32);
  std::string name() const override { return "lpt"; }
  void set_instruction_mask(const Tensor& mask) override { instruction_mask_ = mask; }
  Variable insert_tokens(int64_t layer, const Variable& h) override;
  int64_t text_position_offset() const override { return options.soft_tokens; }
  LptOptions options;
  std::shared_ptr<IaptGenerator> generator;

 private:
  Tensor instruction_mask_;
};

}  // namespace iapt::nn
