#pragma once
// The prompt-token baselines, all inserting k tokens in front of the hidden states:
//   PromptTuning (Lester et al.): k learned input embeddings, the same for every input
//   Idpg (Wu et al.): instance-dependent prompts at the input, generated from the mean of the
//     instruction's input embeddings by a bottleneck MLP: up(relu(down(mean))); or, per layer
//     (their multi-layer variant), one up-projection per layer whose k tokens enter that layer as
//     a key/value prefix through its own norm and projections, as IAPT's do
//   Lpt (Liu et al., late prompt tuning): instance-dependent prompts inserted at one middle layer,
//     from that layer's hidden states through a pooler and a bottleneck (the IAPT generator's
//     parts), then propagated through the layers above
#include "nn/peft/iapt.h"
#include "nn/peft/method.h"

namespace iapt::nn {

struct PromptTuningOptions {
  int64_t soft_tokens = 20;
  bool from_vocabulary = true;  // start from k random rows of the vocabulary, else normal
  double random_std = 0.02;     // the normal start's standard deviation
};

struct IdpgOptions {
  int64_t soft_tokens = 4;
  int64_t bottleneck = 64;
  bool per_layer = false;  // the per-layer variant: one up-projection per layer, as prefixes
  ParameterStart up_start;
};

class PromptTuning : public PeftMethod {
 public:
  // init: rows of `vocabulary` [V, d] (k token embeddings picked at random), or, when undefined,
  // normal with `random_std`
  PromptTuning(int64_t soft_tokens, int64_t hidden, const Tensor& vocabulary, DType dtype = DType::F32,
               double random_std = 0.02);
  std::string name() const override { return "prompt_tuning"; }
  Variable insert_tokens(int64_t layer, const Variable& h, const BatchInputs& batch) override;
  int64_t text_position_offset() const override { return embedding.size(0); }
  Variable embedding;  // [k, d]
};

class Idpg : public PeftMethod {
 public:
  // num_layers > 0: the per-layer variant
  Idpg(int64_t soft_tokens, int64_t hidden, int64_t bottleneck, int64_t num_layers = 0, DType dtype = DType::F32,
       const ParameterStart& up_start = {});
  std::string name() const override { return "idpg"; }
  Variable insert_tokens(int64_t layer, const Variable& h, const BatchInputs& batch) override;
  KVPrefix layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                        const LlamaAttention& attn) override;
  int64_t text_position_offset() const override { return soft_tokens; }
  std::shared_ptr<Linear> down, up;             // [m, d] and [k d, m] (up: input variant)
  std::vector<std::shared_ptr<Linear>> layer_up;  // [k d, m] per layer (per-layer variant)
  std::shared_ptr<Pooler> pool;                 // mean over the instruction
  int64_t soft_tokens;

 private:
  // relu(down(mean of the input embeddings over the instruction)) [B, 1, m]
  Variable bottleneck(const Variable& embeddings, const BatchInputs& batch) const;
  // [B, k, d] from the bottleneck [B, 1, m]
  Variable prompts(const std::shared_ptr<Linear>& up_projection, const Variable& bottleneck, int64_t hidden) const;
};

struct LptOptions {
  int64_t soft_tokens = 4;
  int64_t bottleneck = 64;
  int64_t layer = -1;  // -1: the middle layer
  PoolerKind pooler = PoolerKind::Attention;
  ActivationSpec activation{"relu", {}};
  ParameterStart up_start, query_start;  // as IAPT's
};

class Lpt : public PeftMethod {
 public:
  Lpt(int64_t hidden, int64_t num_layers, const LptOptions& options, DType dtype = DType::F32);
  std::string name() const override { return "lpt"; }
  Variable insert_tokens(int64_t layer, const Variable& h, const BatchInputs& batch) override;
  int64_t text_position_offset() const override { return options.soft_tokens; }
  LptOptions options;
  std::shared_ptr<IaptGenerator> generator;
};

}  // namespace iapt::nn
