#pragma once
// Batched multi-tenant generation, timed: B requests of P random prompt tokens, row r served by
// tenant r mod T, each generating N tokens greedily (no early stop). Time to first token is a
// one-token generation of the batch (prefill and the first token); time per output token is the
// rest of an N-token generation over N - 1; throughput counts B * N tokens over the N-token run;
// peak memory is the most tensor memory live during it on the model's device, above what was live
// before (the CPU or CUDA caching allocator's count).
#include <cstdint>
#include <string>

#include "models/llama.h"

namespace iapt::serve {

struct ServeBenchOptions {
  std::string method = "iapt";  // iapt, lora or none (the bare backbone)
  std::string lora_batching = "gather";  // gather or loop
  std::string registry;         // a directory of tenants; empty: random tenants of the shapes below
  std::string iapt_method = "{name: iapt, soft_tokens: 4, bottleneck: 32}";
  std::string lora_method = "{name: lora, r: 4, alpha: 8, targets: [q, k, v, o, gate, up, down]}";
  int64_t tenants = 8, batch = 8, prompt_len = 64, new_tokens = 32, repeats = 3;
  uint64_t seed = 1;
};

struct ServeBenchResult {
  std::string method;
  int64_t tenants = 0, batch = 0, prompt_len = 0, new_tokens = 0, adapter_parameters = 0;
  double tokens_per_s = 0, ttft_ms = 0, tpot_ms = 0, peak_mb = 0;  // medians over the repeats (peak: max)
};

ServeBenchResult bench_serve(const std::shared_ptr<models::LlamaForCausalLM>& model, const ServeBenchOptions& options);

}  // namespace iapt::serve
