#pragma once
// Where a parameter-efficient method reaches into a decoder's forward pass. The decoder calls these
// at fixed points; a method overrides the ones it needs. Layer l's hooks see the hidden states
// entering that layer, so a method's lower layers shape what its upper layers read (IAPT).
#include "nn/attention.h"
#include "nn/linear.h"

namespace iapt::nn {

enum class Sublayer { Attention, Mlp };

// What a method may read of the batch being run, passed with the forward inputs to the hooks
// that need it (a method keeps no per-batch state of its own).
struct BatchInputs {
  // i64 [B, T]: 1 on the instruction's tokens (IAPT, IDPG and LPT pool over them; diagnostics
  // weigh by them); undefined where the caller has none. In generation, the prompts' mask.
  Tensor instruction_mask;
  // [B, T, d]: the decoder's input embeddings, which the decoder itself sets before it calls the
  // hooks (IDPG's per-layer prefixes are made from them at every layer).
  Variable input_embeddings;
  // Multi-tenant serving (MultiTenantIapt): the tenant of each row; empty otherwise.
  std::vector<int64_t> row_tenants;
};

// The batch's instruction mask for hidden states h [B, T, d] entering a layer, checked: the methods
// that pool over the instruction refuse to run without one of h's rows and length.
const Tensor& require_instruction_mask(const BatchInputs& batch, const Variable& h, const char* method);

class ForwardHooks {
 public:
  virtual ~ForwardHooks() = default;
  // A key/value prefix for layer l from the hidden states h [B, T, d] entering it (none: undefined).
  // input_norm and attn are the layer's own (frozen) modules. Called once per layer at prefill
  // and never while decoding from a cache that already holds the prefix.
  virtual KVPrefix layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                                const LlamaAttention& attn) {
    (void)layer, (void)h, (void)batch, (void)input_norm, (void)attn;
    return {};
  }
  // Added to every text token's RoPE position (the prefix takes positions 0..k-1 before the text).
  virtual int64_t text_position_offset() const { return 0; }
  // Tokens [B, k, d] put in front of the hidden states h entering layer l (prompt tuning and IDPG
  // at layer 0, LPT at a middle layer); they take RoPE positions 0..k-1, run through every layer
  // above like text, are cached as a prefix for decoding, and are dropped before the output.
  // Asked for at prefill only.
  virtual Variable insert_tokens(int64_t layer, const Variable& h, const BatchInputs& batch) {
    (void)layer, (void)h, (void)batch;
    return {};
  }
  // A sublayer's output before the residual add (adapters): `input` is what the sublayer read
  // (the normalised hidden states), `output` what it returned.
  virtual Variable adapt_sublayer(int64_t layer, Sublayer which, const Variable& input, const Variable& output) {
    (void)layer, (void)which, (void)input;
    return output;
  }
};

// Fixed prefixes, one per layer (undefined entries: none): for tests and for methods whose
// prefixes do not depend on the input (P-tuning v2).
class FixedPrefixes : public ForwardHooks {
 public:
  FixedPrefixes(std::vector<KVPrefix> prefixes, int64_t position_offset)
      : prefixes_(std::move(prefixes)), offset_(position_offset) {}
  KVPrefix layer_prefix(int64_t layer, const Variable&, const BatchInputs&, const RMSNorm&,
                        const LlamaAttention&) override {
    return layer < static_cast<int64_t>(prefixes_.size()) ? prefixes_[layer] : KVPrefix{};
  }
  int64_t text_position_offset() const override { return offset_; }

 private:
  std::vector<KVPrefix> prefixes_;
  int64_t offset_;
};

}  // namespace iapt::nn
