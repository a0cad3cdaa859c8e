#include "experiments/demo/tiny_lm_demo.h"

#include <chrono>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/rng.h"
#include "models/llama.h"
#include "optim/optimizer.h"

namespace iapt::demo {

namespace {

// ids [B, 2n] = random half repeated; targets [B*2n] predict the next token, counted on the copy only.
std::pair<Tensor, Tensor> copy_batch(const TinyLmOptions& o) {
  const int64_t n = o.half_length, t = 2 * n;
  Tensor u = rand({o.batch, n}, DType::F64);
  std::vector<int64_t> ids(o.batch * t), targets(o.batch * t, -100);
  for (int64_t r = 0; r < o.batch; ++r)
    for (int64_t i = 0; i < n; ++i) {
      int64_t tok = std::min<int64_t>(static_cast<int64_t>(u.at({r, i}) * o.vocab), o.vocab - 1);
      ids[r * t + i] = ids[r * t + n + i] = tok;
    }
  // position j predicts token j + 1; the copied half starts at n, predicted from position n - 1
  for (int64_t r = 0; r < o.batch; ++r)
    for (int64_t j = n - 1; j < t - 1; ++j) targets[r * t + j] = ids[r * t + j + 1];
  return {from_ints(ids, {o.batch, t}), from_ints(targets, {o.batch * t})};
}

}  // namespace

TinyLmResult train_tiny_lm(const TinyLmOptions& o, const std::function<void(int64_t, double)>& on_step) {
  manual_seed(o.seed);
  models::LlamaConfig c;  // one LLaMA layer: RMSNorm, RoPE attention, SwiGLU, an untied head
  c.vocab_size = o.vocab;
  c.hidden_size = o.dim;
  c.intermediate_size = o.ffn;
  c.num_hidden_layers = 1;
  c.num_attention_heads = c.num_key_value_heads = o.heads;
  c.rms_norm_eps = 1e-5;
  models::LlamaForCausalLM model(c);
  TinyLmResult result;
  result.parameters = model.parameter_count();
  optim::AdamW opt(model.parameters(), {.lr = o.lr, .weight_decay = 0.0});  // all of them: trained from scratch

  double total_ms = 0;
  for (int64_t step = 0; step < o.steps; ++step) {
    auto [ids, targets] = copy_batch(o);
    auto start = std::chrono::steady_clock::now();
    Variable logits = model.forward(ids);
    Variable loss = cross_entropy(reshape(logits, {-1, o.vocab}), targets);
    opt.zero_grad();
    loss.backward();
    opt.step();
    total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    result.losses.push_back(loss.item());
    if (on_step) on_step(step, loss.item());
  }
  result.mean_step_ms = o.steps > 0 ? total_ms / static_cast<double>(o.steps) : 0;

  NoGradGuard no_grad;
  auto [ids, targets] = copy_batch(o);
  Tensor logits = model.forward(ids).data().reshape({-1, o.vocab});
  Tensor best = ops::amax(logits, {1}, true);
  int64_t correct = 0, counted = 0;
  for (int64_t r = 0; r < logits.size(0); ++r) {
    const int64_t want = static_cast<int64_t>(targets.at({r}));
    if (want < 0) continue;
    ++counted;
    correct += logits.at({r, want}) == best.at({r, 0});
  }
  result.copy_accuracy = counted ? static_cast<double>(correct) / static_cast<double>(counted) : 0;
  return result;
}

}  // namespace iapt::demo
