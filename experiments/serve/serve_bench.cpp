#include "experiments/serve/serve_bench.h"

#include <algorithm>
#include <chrono>

#include "core/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "experiments/serve/tenants.h"
#include "models/generation.h"

namespace iapt::serve {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

ServeBenchResult bench_serve(const std::shared_ptr<models::LlamaForCausalLM>& model, const ServeBenchOptions& o) {
  IAPT_CHECK(o.method == "iapt" || o.method == "lora" || o.method == "none", "bench serve: method '{}': iapt, lora or none",
             o.method);
  IAPT_CHECK(o.tenants > 0 && o.batch > 0 && o.prompt_len > 0 && o.new_tokens > 1 && o.repeats > 0,
             "bench serve: tenants, batch, prompt length, repeats must be positive and new tokens at least 2");
  NoGradGuard no_grad;
  ServeBenchResult r{o.method, o.tenants, o.batch, o.prompt_len, o.new_tokens};

  std::vector<Tenant> tenants;
  if (o.method != "none")
    tenants = o.registry.empty() ? random_tenants(model, o.method == "iapt" ? o.iapt_method : o.lora_method, o.tenants, o.seed)
                                 : load_tenants(o.registry, model->config);
  IAPT_CHECK(o.method == "none" || static_cast<int64_t>(tenants.size()) >= o.tenants,
             "bench serve: {} tenants asked for, the registry has {}", o.tenants, tenants.size());
  tenants.resize(o.method == "none" ? 0 : static_cast<size_t>(o.tenants));
  for (const auto& t : tenants)
    for (auto& [n, v] : t.state) r.adapter_parameters += v.numel();

  std::unique_ptr<nn::MultiTenantIapt> iapt;
  std::unique_ptr<nn::MultiTenantLora> lora;
  std::vector<int64_t> tenant_of_row(o.batch);
  for (int64_t i = 0; i < o.batch; ++i) tenant_of_row[i] = i % o.tenants;
  if (o.method == "iapt") {
    iapt = serve_iapt(model, tenants);
  } else if (o.method == "lora") {
    lora = serve_lora(model, tenants, o.lora_batching == "loop" ? nn::LoraBatching::Loop : nn::LoraBatching::Gather);
    lora->set_row_tenants(tenant_of_row);
  }

  manual_seed(o.seed + 1);
  Tensor u = rand({o.batch, o.prompt_len}, DType::F64);
  std::vector<std::vector<int64_t>> prompts(o.batch);
  for (int64_t b = 0; b < o.batch; ++b) {
    prompts[b].push_back(model->config.bos_token_id);
    for (int64_t i = 1; i < o.prompt_len; ++i)  // ids 3..V-1: no BOS, EOS or unknown inside a prompt
      prompts[b].push_back(3 + std::min<int64_t>(static_cast<int64_t>(u.at({b, i}) * (model->config.vocab_size - 3)),
                                                 model->config.vocab_size - 4));
  }
  models::GenerationOptions g;
  g.eos_id = -1;
  if (iapt) {
    g.hooks = iapt.get();
    g.row_tenants = tenant_of_row;
  }
  const Device device = model->lm_head_weight().data().device();
  auto timed = [&](int64_t tokens) {
    g.max_new_tokens = tokens;
    backend_for(device).synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    auto out = models::generate(*model, prompts, g);
    backend_for(device).synchronize();
    IAPT_CHECK(static_cast<int64_t>(out[0].tokens.size()) == tokens, "bench serve: {} tokens generated, {} asked for",
               out[0].tokens.size(), tokens);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  timed(2);  // warm-up: the allocator's cache, the threads
  std::vector<double> ttft, total;
  double peak = 0;
  for (int64_t i = 0; i < o.repeats; ++i) {
    ttft.push_back(timed(1));
    // the memory of the device the model is on
    auto live_and_peak = [&]() -> std::pair<size_t, size_t> {
      const AllocatorStats st = allocator_stats(device);
      return {st.live_bytes, st.peak_live_bytes};
    };
    reset_allocator_peak(device);
    if (device != Device::CPU) reset_allocator_peak(Device::CPU);
    const size_t before = live_and_peak().first;
    total.push_back(timed(o.new_tokens));
    peak = std::max(peak, static_cast<double>(live_and_peak().second - before) / (1 << 20));
  }
  r.ttft_ms = median(ttft) * 1e3;
  r.tpot_ms = std::max(0.0, (median(total) - median(ttft)) / static_cast<double>(o.new_tokens - 1)) * 1e3;
  r.tokens_per_s = static_cast<double>(o.batch * o.new_tokens) / median(total);
  r.peak_mb = peak;
  return r;
}

}  // namespace iapt::serve
