#include "nn/peft/statistics.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"

namespace iapt::nn {

namespace {

// The instruction mask [B, T] repeated for each of `heads` rows of a [B, heads, T, ...] tensor.
std::vector<double> row_weights(const Tensor& mask, int64_t heads) {
  const Tensor m = mask.to(Device::CPU).to(DType::F64).contiguous();
  const int64_t b = m.size(0), t = m.size(1);
  std::vector<double> w;
  for (int64_t r = 0; r < b; ++r)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < t; ++i) w.push_back(m.data<double>()[r * t + i]);
  return w;
}

}  // namespace

double mean_vector_norm(const Tensor& x, const std::vector<double>& row_weight) {
  const Tensor c = x.to(Device::CPU).to(DType::F64).contiguous();
  const int64_t n = c.size(c.dim() - 1), rows = c.numel() / std::max<int64_t>(n, 1);
  IAPT_CHECK(row_weight.empty() || static_cast<int64_t>(row_weight.size()) == rows,
             "mean_vector_norm: {} row weights for {} rows", row_weight.size(), rows);
  double total = 0, count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (!row_weight.empty() && row_weight[r] == 0) continue;
    double sq = 0;
    for (int64_t j = 0; j < n; ++j) sq += c.data<double>()[r * n + j] * c.data<double>()[r * n + j];
    total += std::sqrt(sq), count += 1;
  }
  return count > 0 ? total / count : 0.0;
}

void record_prefix_norms(ForwardStatistics& stats, int64_t layer, const KVPrefix& prefix, const Variable& h,
                         const Tensor& instruction_mask, const RMSNorm& input_norm, const LlamaAttention& attn) {
  NoGradGuard no_grad;
  // the text's own keys and values at this layer; a rotation does not change a norm, so the
  // positions need not be the text's
  auto [k, v] = attn.keys_values(input_norm.forward(h), arange(h.size(1), DType::I64));  // [B, Hkv, T, hd]
  const std::vector<double> w = row_weights(instruction_mask, k.size(1));
  stats.put(layer, "prefix_key_norm", mean_vector_norm(prefix.k.data()));
  stats.put(layer, "prefix_value_norm", mean_vector_norm(prefix.v.data()));
  stats.put(layer, "text_key_norm", mean_vector_norm(k.data(), w));
  stats.put(layer, "text_value_norm", mean_vector_norm(v.data(), w));
}

void record_inserted_norms(ForwardStatistics& stats, int64_t layer, const Variable& tokens, const Variable& h,
                           const Tensor& instruction_mask) {
  stats.put(layer, "inserted_norm", mean_vector_norm(tokens.data()));
  stats.put(layer, "text_hidden_norm", mean_vector_norm(h.data(), row_weights(instruction_mask, 1)));
}

}  // namespace iapt::nn
