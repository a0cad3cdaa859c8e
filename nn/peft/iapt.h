#pragma once
// IAPT: instruction-aware prompt tuning (docs/design.md, IAPT). At each chosen layer l a generator
// reads the hidden states of the instruction tokens entering that layer and makes k soft tokens:
//   Z = H W_down [n_I, m];  P~ = pool(Z) [k, m];  P = g_l(P~) W_up [k, d]
// which enter layer l's attention as a key/value prefix through the frozen layer's own input norm
// and key/value projections: K_p = RoPE(W_k norm(P), 0..k-1), V_p = W_v norm(P). The text's RoPE
// positions start after them (k..) unless shift_text_positions is off.
#include <map>
#include <vector>

#include "nn/peft/activation.h"
#include "nn/peft/method.h"
#include "nn/peft/pooler.h"
#include "nn/peft/start.h"

namespace iapt::nn {

struct IaptOptions {
  int64_t soft_tokens = 4;                 // k
  int64_t bottleneck = 320;                // m
  std::vector<int64_t> layers;             // which layers carry a generator; empty = all
  PoolerKind pooler = PoolerKind::Attention;
  ActivationSpec activation;               // for every generator, unless per_layer_activation is set
  std::vector<ActivationSpec> per_layer_activation;  // one per generator layer (e.g. a depth pattern)
  bool shift_text_positions = true;
  std::string coefficient_learning = "joint";        // "joint" or "bilevel": how the trainer steps g_l
  // A variant, not IAPT itself: each generator layer's prefix gets its own softmax, scaled by a
  // learned gate tanh(g_l) that starts at 0 (KVPrefix::gate), so that step 0 is the frozen model.
  bool gated_prefix = false;
  ParameterStart up_start;     // W_up: default (uniform, as Linear), zero or normal
  ParameterStart query_start;  // the attention pooler's queries: default (uniform +-1/sqrt(m)), zero (mean pooling
                               // at step 0) or normal
};

class IaptGenerator : public Module {
 public:
  IaptGenerator(int64_t hidden, const IaptOptions& options, const ActivationSpec& activation, DType dtype);
  // h [B, T, d] entering the layer, instruction mask [B, T] -> soft tokens P [B, k, d]; with
  // `stats`, the pooler's attention entropy is recorded under `layer`
  Variable soft_tokens(const Variable& h, const Tensor& instruction_mask, ForwardStatistics* stats = nullptr,
                       int64_t layer = 0) const;

  std::shared_ptr<Linear> down, up;
  std::shared_ptr<Pooler> pool;
  std::shared_ptr<Activation> act;
  Variable gate;  // [1], gated_prefix only
};

class Iapt : public PeftMethod {
 public:
  std::string name() const override { return "iapt"; }
  // For a decoder of `num_layers` layers of width `hidden`.
  Iapt(int64_t hidden, int64_t num_layers, const IaptOptions& options, DType dtype = DType::F32);

  KVPrefix layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                        const LlamaAttention& attn) override;
  int64_t text_position_offset() const override { return options.shift_text_positions ? options.soft_tokens : 0; }

  // The rational coefficients (own learning rate, or the held-out-batch step of the bilevel schedule).
  std::vector<Variable> coefficient_parameters() const override;
  bool bilevel_coefficients() const override { return options.coefficient_learning == "bilevel"; }

  // The tunable parameter count for a decoder shape, without building anything (LLaMA-2 7B with
  // k = 4, m = 320 and rational (6, 5): 2,622,732 per layer).
  static int64_t count_parameters(int64_t hidden, int64_t num_layers, const IaptOptions& options);

  IaptOptions options;
  std::map<int64_t, std::shared_ptr<IaptGenerator>> generators;  // by layer
};

}  // namespace iapt::nn
