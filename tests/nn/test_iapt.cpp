// IAPT: parameter counts, gradients of every pooler and of the generator, and the equivalence of
// the prefix implementation with the naive one (insert k tokens before layer l, drop them after it).
#include <catch2/catch.hpp>
#include <cstdlib>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"
#include "kernels/backends.h"
#include "models/generation.h"
#include "models/llama.h"
#include "tests/tiny_llama.h"
#include "nn/peft/iapt.h"

using namespace iapt;

namespace {

models::LlamaConfig tiny_config() { return testing::tiny_llama_config(); }

nn::IaptOptions tiny_iapt(nn::PoolerKind pooler, std::vector<int64_t> layers = {0, 2}) {
  nn::IaptOptions o;
  o.soft_tokens = 3;
  o.bottleneck = 5;
  o.layers = std::move(layers);
  o.pooler = pooler;
  o.activation.rational = {3, 2, RationalVersion::B, "gelu"};
  return o;
}

// These tensors are made before main() registers the backends, so this file registers them first
// (initialisation within a file follows declaration order).
const bool kBackendsRegistered = (kernels::register_backends(), true);
const Tensor kIds = from_ints({1, 4, 9, 2, 17, 5, 8, 1, 6, 6, 12, 3, 22, 7}, {2, 7});
const Tensor kInstruction = from_ints({1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0}, {2, 7});
const Tensor kTargets = from_ints({4, 9, 2, 17, 5, 8, -100, 6, 6, 12, 3, 22, 7, -100}, {14});

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

// The naive IAPT: at a generator layer the k soft tokens go in front of the hidden states, the
// layer runs over k + T positions (soft tokens at 0..k-1, text after), and their outputs are dropped.
Variable naive_logits(const models::LlamaForCausalLM& m, const nn::Iapt& iapt, const Tensor& ids,
                      const Tensor& instruction) {
  const int64_t t = ids.size(1), k = iapt.options.soft_tokens, offset = iapt.text_position_offset();
  Tensor text_pos = arange(static_cast<double>(offset), static_cast<double>(offset + t), 1.0, DType::I64);
  Tensor aug_pos = ops::concat({arange(k, DType::I64), text_pos}, 0);
  Variable h = m.model->embed_tokens->forward(ids);
  for (size_t l = 0; l < m.model->layers.size(); ++l) {
    const auto& layer = *m.model->layers[l];
    auto it = iapt.generators.find(static_cast<int64_t>(l));
    nn::AttentionInputs a;
    if (it == iapt.generators.end()) {
      a.positions = text_pos;
      h = layer.forward(h, a);
      continue;
    }
    Variable p = it->second->soft_tokens(h, instruction);  // [B, k, d]
    a.positions = aug_pos;
    h = narrow(layer.forward(concat({p, h}, 1), a), 1, k, t);
  }
  return matmul(m.model->norm->forward(h), m.lm_head_weight(), false, true);
}

}  // namespace

TEST_CASE("iapt: tunable parameter count on the LLaMA-2 7B shape", "[nn][iapt]") {
  nn::IaptOptions o;  // k = 4, m = 320, rational (6, 5), all layers
  CHECK(nn::Iapt::count_parameters(4096, 1, o) == 2622732);
  CHECK(nn::Iapt::count_parameters(4096, 32, o) == 83927424);
  // the count matches what the module registers, on a small shape
  for (auto pooler : {nn::PoolerKind::Attention, nn::PoolerKind::Mean}) {
    nn::IaptOptions small = tiny_iapt(pooler, {0, 1});
    nn::Iapt iapt(16, 3, small);
    CHECK(iapt.trainable_parameter_count() == nn::Iapt::count_parameters(16, 3, small));
  }
  nn::Iapt iapt(16, 3, tiny_iapt(nn::PoolerKind::Attention, {2}));
  std::vector<std::string> names;
  for (auto& [name, p] : iapt.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"layers.2.down.weight", "layers.2.pool.query", "layers.2.act.numerator",
                                          "layers.2.act.denominator", "layers.2.up.weight"});
}

TEST_CASE("iapt: gradcheck of every pooler", "[nn][iapt][gradcheck]") {
  manual_seed(31);
  Tensor mask = from_ints({1, 1, 0, 1, 0, 0, 1, 1, 1, 0}, {2, 5});
  for (auto kind : {nn::PoolerKind::Attention, nn::PoolerKind::Mean, nn::PoolerKind::Max, nn::PoolerKind::Last}) {
    nn::Pooler pool(kind, 3, 4, DType::F64);
    Variable z(randn({2, 5, 4}, DType::F64), true);
    std::vector<Variable> leaves{z};
    if (pool.query.defined()) leaves.push_back(pool.query);
    GradcheckReport r = gradcheck_parameters([&] { return pool.forward(z, mask); }, leaves);
    INFO(nn::pooler_name(kind) << ": " << r.to_string());
    CHECK(r.ok);
    // nothing outside the instruction moves the pooled tokens
    Tensor out = pool.forward(z, mask).data();
    Tensor z2 = z.data().clone();
    z2.narrow(1, 4, 1).fill_(100.0);  // position 4 is outside the instruction in both rows
    CHECK(pool.forward(Variable(z2), mask).data().to_vector() == out.to_vector());
  }
}

TEST_CASE("iapt: gradcheck of the generator through a tiny frozen LLaMA", "[nn][iapt][gradcheck]") {
  for (auto pooler : {nn::PoolerKind::Attention, nn::PoolerKind::Max}) {
    manual_seed(32);
    models::LlamaForCausalLM m(tiny_config(), DType::F64);
    m.freeze();
    nn::Iapt iapt(16, 3, tiny_iapt(pooler), DType::F64);
    models::ForwardInputs in;
    in.hooks = &iapt;
    in.batch.instruction_mask = kInstruction;
    auto loss = [&] { return cross_entropy(reshape(m.forward(kIds, in), {14, 30}), kTargets); };
    GradcheckReport r = gradcheck_parameters(loss, iapt.parameters(), {1e-6, 1e-7, 1e-5});
    INFO(nn::pooler_name(pooler) << ": " << r.to_string());
    if (std::getenv("IAPT_GRADCHECK_VERBOSE")) fmt::print("gradcheck iapt generator {}\n", r.to_string());
    CHECK(r.ok);
  }
}

TEST_CASE("iapt: the prefix implementation equals the naive one in logits and gradients", "[nn][iapt]") {
  for (bool shift : {true, false}) {
    manual_seed(33);
    models::LlamaForCausalLM m(tiny_config(), DType::F64);
    m.freeze();
    nn::IaptOptions o = tiny_iapt(nn::PoolerKind::Attention);
    o.shift_text_positions = shift;
    nn::Iapt iapt(16, 3, o, DType::F64);
    models::ForwardInputs in;
    in.hooks = &iapt;
    in.batch.instruction_mask = kInstruction;
    Variable prefix_logits = m.forward(kIds, in);
    cross_entropy(reshape(prefix_logits, {14, 30}), kTargets).backward();
    std::vector<Tensor> prefix_grads;
    for (auto& p : iapt.parameters()) prefix_grads.push_back(p.grad()), p.zero_grad();

    Variable naive = naive_logits(m, iapt, kIds, kInstruction);
    cross_entropy(reshape(naive, {14, 30}), kTargets).backward();

    auto a = prefix_logits.data().to_vector(), b = naive.data().to_vector();
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / (1e-12 + std::abs(b[i])));
    INFO("shift " << shift << ": worst relative logit difference " << worst);
    CHECK(worst < 1e-10);
    auto params = iapt.parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      auto g1 = prefix_grads[i].to_vector(), g2 = params[i].grad().to_vector();
      for (size_t j = 0; j < g1.size(); ++j) CHECK(g1[j] == Approx(g2[j]).epsilon(1e-9).margin(1e-13));
    }
  }
}

TEST_CASE("iapt: generation computes the prefixes once at prefill and decodes from the cache", "[nn][iapt]") {
  manual_seed(34);
  models::LlamaForCausalLM m(tiny_config());
  nn::Iapt iapt(16, 3, tiny_iapt(nn::PoolerKind::Attention, {1}));
  std::vector<int64_t> prompt{1, 4, 9, 2, 17};
  models::GenerationOptions o;
  o.max_new_tokens = 6;
  o.eos_id = -1;  // never stop early
  o.hooks = &iapt;
  auto cached = models::generate(m, {prompt}, o);
  // the same tokens from full forwards without a cache, the instruction being the prompt
  std::vector<int64_t> seq = prompt;
  NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(prompt.size());
  std::vector<int64_t> instr(n, 1);
  for (int step = 0; step < 6; ++step) {
    // the prompt alone feeds the generators, as at prefill
    models::ForwardInputs in;
    nn::Iapt* hooks = &iapt;
    // prefixes from the prompt's hidden states, then the full sequence attends to them
    models::KVCache prompt_cache;
    in.hooks = hooks;
    in.batch.instruction_mask = from_ints(instr, {1, n});
    in.cache = &prompt_cache;
    m.forward(from_ints(prompt, {1, n}), in);
    std::vector<nn::KVPrefix> prefixes;
    for (auto& layer : prompt_cache.layers)
      prefixes.push_back(layer.prefix > 0 ? nn::KVPrefix{Variable(layer.k.narrow(2, 0, layer.prefix)),
                                                         Variable(layer.v.narrow(2, 0, layer.prefix))}
                                          : nn::KVPrefix{});
    nn::FixedPrefixes fixed(prefixes, iapt.text_position_offset());
    models::ForwardInputs full;
    full.hooks = &fixed;
    const int64_t len = static_cast<int64_t>(seq.size());
    Tensor logits = m.forward(from_ints(seq, {1, len}), full).data();
    Tensor last = logits.narrow(1, len - 1, 1).reshape({-1});
    int64_t best = 0;
    for (int64_t v = 1; v < 30; ++v)
      if (last.at({v}) > last.at({best})) best = v;
    seq.push_back(best);
  }
  CHECK(cached[0].tokens == std::vector<int64_t>(seq.begin() + n, seq.end()));
}

TEST_CASE("iapt: a gated prefix starts exactly at the frozen model, and its gradients check", "[nn][iapt][gradcheck]") {
  manual_seed(33);
  models::LlamaForCausalLM m(tiny_config(), DType::F64);
  m.freeze();
  nn::IaptOptions o = tiny_iapt(nn::PoolerKind::Attention);
  o.gated_prefix = true;
  nn::Iapt iapt(16, 3, o, DType::F64);
  CHECK(nn::Iapt::count_parameters(16, 3, o) == nn::Iapt::count_parameters(16, 3, tiny_iapt(nn::PoolerKind::Attention)) + 2);
  models::ForwardInputs in;
  in.hooks = &iapt;
  in.batch.instruction_mask = kInstruction;
  const Tensor frozen = m.forward(kIds, {}).data();
  const Tensor gated = m.forward(kIds, in).data();
  // the text's positions are shifted by k; RoPE scores depend on relative positions alone
  CHECK(max_abs_diff(frozen, gated) < 1e-10);
  auto loss = [&] { return cross_entropy(reshape(m.forward(kIds, in), {14, 30}), kTargets); };
  {  // at gate 0 only the gates learn first
    for (auto& p : iapt.parameters()) p.zero_grad();
    loss().backward();
    for (auto& [l, g] : iapt.generators) {
      CHECK(std::abs(g->gate.grad().to_vector()[0]) > 0);
      CHECK(max_abs_diff(g->up->weight.grad(), zeros(g->up->weight.shape(), DType::F64)) == 0);
    }
  }
  for (auto& [l, g] : iapt.generators) g->gate.data().copy_(from_vector({0.4 + 0.1 * static_cast<double>(l)}, {1}, DType::F64));
  CHECK(max_abs_diff(frozen, m.forward(kIds, in).data()) > 1e-6);
  GradcheckReport r = gradcheck_parameters(loss, iapt.parameters(), {1e-6, 1e-7, 1e-5});
  INFO(r.to_string());
  CHECK(r.ok);
}

TEST_CASE("iapt: a gated prefix adds tanh(g) times each head's own softmax over the prefix, GQA heads grouped",
          "[nn][iapt]") {
  manual_seed(34);
  const int64_t d = 16, heads = 4, kv = 2, hd = 4, t = 3, p = 2;
  nn::LlamaAttention attn(d, heads, kv, 10000.0, DType::F64);
  const Tensor x = randn({1, t, d}, DType::F64);
  nn::KVPrefix prefix{Variable(randn({1, kv, p, hd}, DType::F64)), Variable(randn({1, kv, p, hd}, DType::F64)),
                      Variable(from_vector({0.7}, {1}, DType::F64))};
  const Tensor positions = arange(t, DType::I64);
  nn::AttentionInputs plain_in, gated_in;
  plain_in.positions = gated_in.positions = positions;
  gated_in.prefix = &prefix;
  const auto plain = attn.forward(Variable(x), plain_in).data().to_vector();
  const auto gated = attn.forward(Variable(x), gated_in).data().to_vector();
  // the reference, by loops: query head h reads key/value head h / (heads / kv)
  const auto q = rope(transpose(reshape(attn.q_proj->forward(Variable(x)), {1, t, heads, hd}), 1, 2), positions, 10000.0)
                     .data().contiguous().to_vector();  // [1, H, T, hd]
  const auto k = prefix.k.data().to_vector(), v = prefix.v.data().to_vector();
  const auto wo = attn.o_proj->weight.data().to_vector();  // [d, H hd]
  std::vector<double> mixed(t * heads * hd, 0.0);           // [T, H hd]
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < t; ++i) {
      const int64_t g = h / (heads / kv);
      std::vector<double> s(p);
      double top = -1e300, total = 0;
      for (int64_t j = 0; j < p; ++j) {
        s[j] = 0;
        for (int64_t c = 0; c < hd; ++c) s[j] += q[(h * t + i) * hd + c] * k[(g * p + j) * hd + c] / std::sqrt(double(hd));
        top = std::max(top, s[j]);
      }
      for (auto& e : s) total += (e = std::exp(e - top));
      for (int64_t j = 0; j < p; ++j)
        for (int64_t c = 0; c < hd; ++c) mixed[i * heads * hd + h * hd + c] += s[j] / total * v[(g * p + j) * hd + c];
    }
  double worst = 0;
  for (int64_t i = 0; i < t; ++i)
    for (int64_t o = 0; o < d; ++o) {
      double added = 0;
      for (int64_t c = 0; c < heads * hd; ++c) added += wo[o * heads * hd + c] * mixed[i * heads * hd + c];
      worst = std::max(worst, std::abs(gated[i * d + o] - plain[i * d + o] - std::tanh(0.7) * added));
    }
  CHECK(worst < 1e-12);
}

TEST_CASE("iapt: a forward pass whose inputs carry no instruction mask is refused, naming the field", "[nn][iapt]") {
  manual_seed(34);
  models::LlamaForCausalLM m(tiny_config(), DType::F64);
  m.freeze();
  nn::Iapt iapt(16, 3, tiny_iapt(nn::PoolerKind::Attention), DType::F64);
  models::ForwardInputs in;
  in.hooks = &iapt;
  CHECK_THROWS_WITH(m.forward(kIds, in), Catch::Contains("iapt: the forward inputs carry no instruction mask") &&
                                             Catch::Contains("ForwardInputs::batch.instruction_mask"));
  in.batch.instruction_mask = kInstruction.narrow(1, 0, 5);
  CHECK_THROWS_WITH(m.forward(kIds, in), Catch::Contains("instruction mask [2, 5] for hidden states [2, 7, 16]"));
  in.batch.instruction_mask = kInstruction;
  CHECK(m.forward(kIds, in).shape() == Shape{2, 7, 30});
}
