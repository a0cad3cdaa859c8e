#include "nn/peft/prompts.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"

namespace iapt::nn {

PromptTuning::PromptTuning(int64_t k, int64_t hidden, const Tensor& vocabulary, DType dtype, double random_std)
    : PeftMethod("prompt_encoder.") {
  IAPT_CHECK(k >= 1, "prompt tuning: soft_tokens must be at least 1, got {}", k);
  Tensor init;
  if (vocabulary.defined()) {
    IAPT_CHECK(vocabulary.dim() == 2 && vocabulary.size(1) == hidden, "prompt tuning: vocabulary {} for hidden {}",
               shape_str(vocabulary.shape()), hidden);
    std::vector<int64_t> rows(k);
    Tensor u = rand({k}, DType::F64);
    for (int64_t i = 0; i < k; ++i)
      rows[i] = std::min<int64_t>(static_cast<int64_t>(u.at({i}) * vocabulary.size(0)), vocabulary.size(0) - 1);
    init = ops::embedding(vocabulary.to(Device::CPU).to(dtype), from_ints(rows, {k}));
  } else {
    IAPT_CHECK(random_std > 0, "prompt tuning: a random start needs a positive std, got {}", random_std);
    init = ops::mul_scalar(randn({k, hidden}, dtype), random_std);
  }
  embedding = register_parameter("embedding.weight", init);
}

Variable PromptTuning::insert_tokens(int64_t layer, const Variable& h, const BatchInputs& batch) {
  if (layer != 0) return {};
  const int64_t k = embedding.size(0), d = embedding.size(1);
  Variable tokens = expand(unsqueeze(embedding, 0), {h.size(0), k, d});
  if (statistics.enabled && batch.instruction_mask.defined())
    record_inserted_norms(statistics, layer, tokens, h, batch.instruction_mask);
  return tokens;
}

Idpg::Idpg(int64_t k, int64_t hidden, int64_t bottleneck, int64_t num_layers, DType dtype,
           const ParameterStart& up_start)
    : PeftMethod("idpg."), soft_tokens(k) {
  down = register_module("down", std::make_shared<Linear>(hidden, bottleneck, false, dtype));
  if (num_layers == 0) {
    up = register_module("up", std::make_shared<Linear>(bottleneck, k * hidden, false, dtype));
  } else {
    for (int64_t l = 0; l < num_layers; ++l)
      layer_up.push_back(register_module("layers." + std::to_string(l) + ".up",
                                         std::make_shared<Linear>(bottleneck, k * hidden, false, dtype)));
  }
  if (up) apply_start(up->weight, up_start);
  for (auto& u : layer_up) apply_start(u->weight, up_start);
  pool = std::make_shared<Pooler>(PoolerKind::Mean, 1, hidden, dtype);  // no parameters
}

Variable Idpg::bottleneck(const Variable& embeddings, const BatchInputs& batch) const {
  const Tensor& instruction_mask = require_instruction_mask(batch, embeddings, "idpg");
  return relu(down->forward(pool->forward(embeddings, instruction_mask)));  // [B, 1, m]
}

Variable Idpg::prompts(const std::shared_ptr<Linear>& up_projection, const Variable& bottleneck, int64_t hidden) const {
  return reshape(up_projection->forward(bottleneck), {bottleneck.size(0), soft_tokens, hidden});  // [B, k, d]
}

Variable Idpg::insert_tokens(int64_t layer, const Variable& h, const BatchInputs& batch) {
  if (layer != 0 || !up) return {};
  // h entering layer 0 is the input embeddings: their mean over the instruction represents the input
  Variable tokens = prompts(up, bottleneck(h, batch), h.size(2));
  if (statistics.enabled) record_inserted_norms(statistics, layer, tokens, h, batch.instruction_mask);
  return tokens;
}

KVPrefix Idpg::layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                            const LlamaAttention& attn) {
  if (layer_up.empty()) return {};
  IAPT_CHECK(layer < static_cast<int64_t>(layer_up.size()), "idpg: layer {} of {}", layer, layer_up.size());
  IAPT_CHECK(batch.input_embeddings.defined(), "idpg: the decoder passed no input embeddings to layer {}", layer);
  // every layer's prompts from the same representation of the input: its embeddings' mean
  Variable p = prompts(layer_up[layer], bottleneck(batch.input_embeddings, batch), h.size(2));
  auto [k, v] = attn.keys_values(input_norm.forward(p), arange(soft_tokens, DType::I64));
  if (statistics.enabled) record_prefix_norms(statistics, layer, {k, v}, h, batch.instruction_mask, input_norm, attn);
  return {k, v};
}

Lpt::Lpt(int64_t hidden, int64_t num_layers, const LptOptions& o, DType dtype) : PeftMethod("lpt."), options(o) {
  if (options.layer < 0) options.layer = num_layers / 2;
  IAPT_CHECK(options.layer < num_layers, "lpt: layer {} outside [0, {})", options.layer, num_layers);
  IaptOptions g;
  g.soft_tokens = o.soft_tokens;
  g.bottleneck = o.bottleneck;
  g.pooler = o.pooler;
  g.up_start = o.up_start;
  g.query_start = o.query_start;
  generator = register_module("generator", std::make_shared<IaptGenerator>(hidden, g, o.activation, dtype));
}

Variable Lpt::insert_tokens(int64_t layer, const Variable& h, const BatchInputs& batch) {
  if (layer != options.layer) return {};
  const Tensor& instruction_mask = require_instruction_mask(batch, h, "lpt");
  ForwardStatistics* stats = statistics.enabled ? &statistics : nullptr;
  Variable tokens = generator->soft_tokens(h, instruction_mask, stats, layer);  // [B, k, d]
  if (statistics.enabled) record_inserted_norms(statistics, layer, tokens, h, instruction_mask);
  return tokens;
}

}  // namespace iapt::nn
