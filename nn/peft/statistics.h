#pragma once
// What a method saw in one forward pass, recorded only when a run asks (its diagnostics), so that
// a researcher can tell why a method does not learn: how large each layer's prefix keys and values
// are against the text's, how large inserted tokens are against the hidden states, and how spread
// the pooler's attention over the instruction is. Values are named "layer3.prefix_key_norm" etc.
#include <map>
#include <string>

#include "nn/attention.h"

namespace iapt::nn {

struct ForwardStatistics {
  bool enabled = false;
  std::map<std::string, double> values;
  void put(int64_t layer, const std::string& name, double value) {
    values["layer" + std::to_string(layer) + "." + name] = value;
  }
};

// Mean L2 norm of the last axis' vectors of x [..., n], over the rows where `row_weight` [rows] is
// nonzero (all rows when undefined).
double mean_vector_norm(const Tensor& x, const std::vector<double>& row_weight = {});

// Records a prefix's key and value norms [B, Hkv, k, hd] against those the layer makes of the
// instruction's own hidden states h [B, T, d] (mask [B, T], nonzero = instruction).
void record_prefix_norms(ForwardStatistics& stats, int64_t layer, const KVPrefix& prefix, const Variable& h,
                         const Tensor& instruction_mask, const RMSNorm& input_norm, const LlamaAttention& attn);

// Records inserted tokens' norm [B, k, d] against the hidden states' h [B, T, d] on instruction tokens.
void record_inserted_norms(ForwardStatistics& stats, int64_t layer, const Variable& tokens, const Variable& h,
                           const Tensor& instruction_mask);

}  // namespace iapt::nn
