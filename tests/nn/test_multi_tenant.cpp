// Mixed batches of many tenants on one backbone: each row of a batch that mixes tenants produces
// the tokens (and log-probabilities) of the same request run alone with its tenant's adapter, for
// IAPT and for LoRA (the gathered batched product and the loop over tenants alike).
#include <catch2/catch.hpp>

#include "core/ops.h"
#include "experiments/config/peft_config.h"
#include "models/generation.h"
#include "nn/peft/lora.h"
#include "nn/peft/multi_tenant.h"
#include "tests/tiny_llama.h"

using namespace iapt;

namespace {

const std::vector<std::vector<int64_t>> kPrompts{{1, 5, 9, 12}, {1, 7, 3}, {1, 20, 4, 8, 11, 6}, {1, 14}, {1, 9, 9, 2 + 1, 17}};
const std::vector<int64_t> kTenantOfRow{0, 2, 1, 0, 2};

void perturb(const nn::PeftMethod& m, double scale) {
  for (auto& [n, p] : m.canonical_parameters())
    if (n.find("numerator") == std::string::npos && n.find("denominator") == std::string::npos)
      p.data().copy_(ops::add(p.data(), ops::mul_scalar(randn(p.shape(), p.dtype()), scale)));
}

models::GenerationOptions options(nn::ForwardHooks* hooks, std::vector<int64_t> row_tenants = {}) {
  models::GenerationOptions g;
  g.max_new_tokens = 6;
  g.eos_id = -1;  // every row runs all its steps
  g.hooks = hooks;
  g.row_tenants = std::move(row_tenants);
  return g;
}

void expect_same(const std::vector<models::Generation>& batch, size_t row, const models::Generation& alone) {
  INFO("row " << row << " tenant " << kTenantOfRow[row]);
  CHECK(batch[row].tokens == alone.tokens);
  CHECK(batch[row].logprob == Approx(alone.logprob).epsilon(1e-9));
}

config::MethodSpec spec(const std::string& name) {
  config::MethodSpec s = config::method_defaults(name);
  if (name == "iapt") {
    auto& o = s.get<nn::IaptOptions>();
    o.soft_tokens = 2;
    o.bottleneck = 5;
    o.activation.rational = {3, 2, RationalVersion::B, "gelu"};
  } else {
    s.get<nn::LoraOptions>() = {2, 4, 0.0, {"q", "v", "up", "down"}};
  }
  return s;
}

}  // namespace

TEST_CASE("multi-tenant: IAPT rows of a mixed batch generate as they would alone", "[multi_tenant]") {
  manual_seed(21);
  auto model = std::make_shared<models::LlamaForCausalLM>(testing::tiny_llama_config(), DType::F64);
  std::vector<std::shared_ptr<nn::Iapt>> tenants;
  for (int t = 0; t < 3; ++t) {
    auto m = std::dynamic_pointer_cast<nn::Iapt>(config::make_method(spec("iapt"), model, DType::F64));
    perturb(*m, 0.5);
    m->set_training(false);
    tenants.push_back(m);
  }
  nn::MultiTenantIapt mixed(tenants);
  NoGradGuard no_grad;
  auto batch = models::generate(*model, kPrompts, options(&mixed, kTenantOfRow));
  std::set<std::vector<int64_t>> distinct;
  for (size_t r = 0; r < kPrompts.size(); ++r) {
    auto& t = *tenants[kTenantOfRow[r]];
    expect_same(batch, r, models::generate(*model, {kPrompts[r]}, options(&t))[0]);
  }
  // the tenants differ: the same prompt under each gives different generations
  for (auto& t : tenants)
    distinct.insert(models::generate(*model, {kPrompts[0]}, options(t.get()))[0].tokens);
  CHECK(distinct.size() > 1);
  CHECK_THROWS_WITH(models::generate(*model, {kPrompts[0], kPrompts[1]}, options(&mixed, {0, 3})),
                    Catch::Contains("row 1 names tenant 3 of 3"));
}

TEST_CASE("multi-tenant: with bf16 activations, LoRA rows of a mixed batch generate as they would alone",
          "[multi_tenant][half]") {
  // compute: bf16 — the activations and the cache bf16, the tenants' factors f32 and rounded to bf16
  // where they meet the activations, alone (autograd's LoRA) and mixed (the batched product) alike
  manual_seed(23);
  auto model = std::make_shared<models::LlamaForCausalLM>(testing::tiny_llama_config(),
                                                          models::Precision{DType::F32, DType::BF16, true});
  std::vector<std::map<std::string, Tensor>> states;
  double scale = 0;
  for (int t = 0; t < 3; ++t) {
    auto m = std::dynamic_pointer_cast<nn::Lora>(config::make_method(spec("lora"), model));
    perturb(*m, 0.5);
    states.push_back(m->canonical_state());
    scale = m->options.alpha / static_cast<double>(m->options.r);
    m->detach();
  }
  NoGradGuard no_grad;
  for (auto batching : {nn::LoraBatching::Gather, nn::LoraBatching::Loop}) {
    std::vector<models::Generation> mixed_out;
    {
      nn::MultiTenantLora mixed(*model, states, scale, batching);
      mixed.set_row_tenants(kTenantOfRow);
      mixed_out = models::generate(*model, kPrompts, options(nullptr));
    }
    for (size_t r = 0; r < kPrompts.size(); ++r) {
      auto m = std::dynamic_pointer_cast<nn::Lora>(config::make_method(spec("lora"), model));
      m->load_canonical_state(states[kTenantOfRow[r]], "", "tenant");
      m->set_training(false);
      const auto alone = models::generate(*model, {kPrompts[r]}, options(m.get()))[0];
      m->detach();
      INFO("row " << r << (batching == nn::LoraBatching::Gather ? " gathered" : " looped"));
      CHECK(mixed_out[r].tokens == alone.tokens);
      CHECK(mixed_out[r].logprob == Approx(alone.logprob).epsilon(1e-9));
    }
  }
}

TEST_CASE("multi-tenant: LoRA rows of a mixed batch generate as they would alone, gathered or looped", "[multi_tenant]") {
  manual_seed(22);
  auto model = std::make_shared<models::LlamaForCausalLM>(testing::tiny_llama_config(), DType::F64);
  std::vector<std::map<std::string, Tensor>> states;
  double scale = 0;
  for (int t = 0; t < 3; ++t) {
    auto m = std::dynamic_pointer_cast<nn::Lora>(config::make_method(spec("lora"), model, DType::F64));
    perturb(*m, 0.5);  // B away from its zero start
    states.push_back(m->canonical_state());
    scale = m->options.alpha / static_cast<double>(m->options.r);
    m->detach();
  }
  NoGradGuard no_grad;
  auto alone = [&](size_t row) {
    auto m = std::dynamic_pointer_cast<nn::Lora>(config::make_method(spec("lora"), model, DType::F64));
    m->load_canonical_state(states[kTenantOfRow[row]], "", "tenant");
    m->set_training(false);
    auto g = models::generate(*model, {kPrompts[row]}, options(m.get()))[0];
    m->detach();
    return g;
  };
  std::vector<std::vector<models::Generation>> results;
  for (auto batching : {nn::LoraBatching::Gather, nn::LoraBatching::Loop}) {
    nn::MultiTenantLora mixed(*model, states, scale, batching);
    CHECK(mixed.projections() == 4 * 3);  // q, v, up, down in each of 3 layers
    mixed.set_row_tenants(kTenantOfRow);
    results.push_back(models::generate(*model, kPrompts, options(nullptr)));
  }
  for (size_t r = 0; r < kPrompts.size(); ++r) {
    const auto one = alone(r);
    expect_same(results[0], r, one);
    expect_same(results[1], r, one);
  }
  std::set<std::vector<int64_t>> distinct;
  for (const auto& s : states) {
    auto m = std::dynamic_pointer_cast<nn::Lora>(config::make_method(spec("lora"), model, DType::F64));
    m->load_canonical_state(s, "", "tenant");
    distinct.insert(models::generate(*model, {kPrompts[2]}, options(nullptr))[0].tokens);
    m->detach();
  }
  CHECK(distinct.size() > 1);
  // a tenant without an adapter on a projection the others adapt is refused
  auto partial = states;
  partial[1].erase("model.layers.0.self_attn.q_proj.lora_A.weight");
  CHECK_THROWS_WITH(nn::MultiTenantLora(*model, partial, scale, nn::LoraBatching::Gather),
                    Catch::Contains("tenant 1 has no adapter on model.layers.0.self_attn.q_proj"));
}
