#include "nn/peft/iapt.h"

#include <cmath>

#include "core/error.h"

namespace iapt::nn {

IaptGenerator::IaptGenerator(int64_t hidden, const IaptOptions& o, const ActivationSpec& activation, DType dtype) {
  down = register_module("down", std::make_shared<Linear>(hidden, o.bottleneck, false, dtype));
  pool = register_module("pool", std::make_shared<Pooler>(o.pooler, o.soft_tokens, o.bottleneck, dtype));
  act = register_module("act", std::make_shared<Activation>(activation, dtype));
  up = register_module("up", std::make_shared<Linear>(o.bottleneck, hidden, false, dtype));
  apply_start(up->weight, o.up_start);
  if (o.gated_prefix) gate = register_parameter("gate", zeros({1}, dtype));
  if (pool->query.defined()) apply_start(pool->query, o.query_start);
}

Variable IaptGenerator::soft_tokens(const Variable& h, const Tensor& instruction_mask, ForwardStatistics* stats,
                                    int64_t layer) const {
  Variable z = down->forward(h);                          // [B, T, m]
  double entropy = -1;  // recorded for the attention pooler only
  const bool record = stats && pool->kind == PoolerKind::Attention;
  Variable pooled = pool->forward(z, instruction_mask, record ? &entropy : nullptr);  // [B, k, m]
  if (record) stats->put(layer, "pooler_entropy", entropy);
  return up->forward(act->forward(pooled));               // [B, k, d]
}

Iapt::Iapt(int64_t hidden, int64_t num_layers, const IaptOptions& o, DType dtype) : PeftMethod("iapt."), options(o) {
  IAPT_CHECK(o.soft_tokens >= 1 && o.bottleneck >= 1, "iapt: soft_tokens {} and bottleneck {} must be positive",
             o.soft_tokens, o.bottleneck);
  std::vector<int64_t> layers = o.layers;
  if (layers.empty())
    for (int64_t l = 0; l < num_layers; ++l) layers.push_back(l);
  IAPT_CHECK(o.per_layer_activation.empty() || o.per_layer_activation.size() == layers.size(),
             "iapt: {} per-layer activations for {} generator layers", o.per_layer_activation.size(), layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const int64_t l = layers[i];
    IAPT_CHECK(l >= 0 && l < num_layers, "iapt: layer {} outside [0, {})", l, num_layers);
    IAPT_CHECK(!generators.count(l), "iapt: layer {} listed twice", l);
    const ActivationSpec& act = o.per_layer_activation.empty() ? o.activation : o.per_layer_activation[i];
    generators[l] = register_module("layers." + std::to_string(l), std::make_shared<IaptGenerator>(hidden, o, act, dtype));
  }
}

KVPrefix Iapt::layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                            const LlamaAttention& attn) {
  auto it = generators.find(layer);
  if (it == generators.end()) return {};
  // The instruction mask covers the prompt; h may be a prompt (prefill) of the same length.
  const Tensor& instruction_mask = require_instruction_mask(batch, h, "iapt");
  ForwardStatistics* stats = statistics.enabled ? &statistics : nullptr;
  Variable p = it->second->soft_tokens(h, instruction_mask, stats, layer);  // [B, k, d]
  Tensor positions = arange(options.soft_tokens, DType::I64);   // the prefix takes 0..k-1
  auto [k, v] = attn.keys_values(input_norm.forward(p), positions);
  if (stats) record_prefix_norms(*stats, layer, {k, v}, h, instruction_mask, input_norm, attn);
  if (stats && it->second->gate.defined()) stats->put(layer, "gate", std::tanh(it->second->gate.data().to_vector()[0]));
  return {k, v, it->second->gate};
}

int64_t Iapt::count_parameters(int64_t hidden, int64_t num_layers, const IaptOptions& o) {
  const int64_t layers = o.layers.empty() ? num_layers : static_cast<int64_t>(o.layers.size());
  int64_t total = 0;
  for (int64_t i = 0; i < layers; ++i) {
    const ActivationSpec& act = o.per_layer_activation.empty() ? o.activation : o.per_layer_activation[i];
    int64_t n = 2 * hidden * o.bottleneck;                                      // down, up
    if (o.pooler == PoolerKind::Attention) n += o.soft_tokens * o.bottleneck;   // one query per soft token
    if (act.kind == "rational") n += act.rational.deg_num + 1 + act.rational.deg_den;
    if (o.gated_prefix) n += 1;
    total += n;
  }
  return total;
}

std::vector<Variable> Iapt::coefficient_parameters() const {
  std::vector<Variable> out;
  for (auto& [l, g] : generators)
    if (g->act->is_rational()) out.insert(out.end(), {g->act->numerator, g->act->denominator});
  return out;
}

}  // namespace iapt::nn
