#include "experiments/demo/tiny_lm_demo.h"

#include <chrono>
#include <cmath>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/rng.h"
#include "optim/optimizer.h"

namespace iapt::demo {

namespace {

struct TinyLm {
  Variable embed, attn_norm, wq, wk, wv, wo, mlp_norm, w_gate, w_up, w_down, final_norm, lm_head;
  int64_t heads;

  std::vector<Variable> parameters() const {
    return {embed, attn_norm, wq, wk, wv, wo, mlp_norm, w_gate, w_up, w_down, final_norm, lm_head};
  }

  // ids [B, T] -> logits [B, T, V]
  Variable forward(const Tensor& ids) const {
    const int64_t b = ids.size(0), t = ids.size(1), d = embed.size(1), hd = d / heads;
    const double eps = 1e-5, theta = 10000.0;
    Tensor positions = arange(t, DType::I64);
    Variable x = embedding(embed, ids);                                  // [B, T, d]
    Variable a = rms_norm(x, attn_norm, eps);
    auto heads_of = [&](const Variable& w) {                             // [B, H, T, hd]
      return transpose(reshape(matmul(a, w, false, true), {b, t, heads, hd}), 1, 2);
    };
    Variable q = rope(heads_of(wq), positions, theta);
    Variable k = rope(heads_of(wk), positions, theta);
    Variable att = scaled_dot_product_attention(q, k, heads_of(wv), /*causal=*/true);
    Variable o = matmul(reshape(transpose(att, 1, 2), {b, t, d}), wo, false, true);
    Variable h = x + o;                                                  // [B, T, d]
    Variable m = rms_norm(h, mlp_norm, eps);
    Variable f = matmul(silu(matmul(m, w_gate, false, true)) * matmul(m, w_up, false, true), w_down, false, true);
    Variable y = h + f;
    return matmul(rms_norm(y, final_norm, eps), lm_head, false, true);  // [B, T, V]
  }
};

Variable param(const Shape& shape, double scale) { return Variable(ops::mul_scalar(randn(shape), scale), true); }
Variable norm_weight(int64_t d) { return Variable(ones({d}), true); }

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
  const int64_t d = o.dim;
  const double s = 1.0 / std::sqrt(static_cast<double>(d));
  TinyLm model{param({o.vocab, d}, 1.0),   norm_weight(d),          param({d, d}, s),
               param({d, d}, s),           param({d, d}, s),        param({d, d}, s),
               norm_weight(d),             param({o.ffn, d}, s),    param({o.ffn, d}, s),
               param({d, o.ffn}, 1.0 / std::sqrt(static_cast<double>(o.ffn))),
               norm_weight(d),             param({o.vocab, d}, s),  o.heads};
  TinyLmResult result;
  for (const auto& p : model.parameters()) result.parameters += p.data().numel();
  optim::AdamW opt(model.parameters(), {.lr = o.lr, .weight_decay = 0.0});

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
