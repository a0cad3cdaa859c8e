#pragma once
// Text generation with the KV cache: greedy decoding and beam search over a batch of prompts of
// different lengths, left-padded into one batch (pads are masked and take no RoPE position).
#include <cstdint>
#include <functional>
#include <vector>

#include "models/llama.h"

namespace iapt::models {

// Beam search keeps each beam as a row of one batch; wider than this is a typo, not a search.
inline constexpr int64_t kMaxBeams = 64;

struct GenerationOptions {
  int64_t max_new_tokens = 32;
  int64_t beams = 1;       // 1: greedy; at most kMaxBeams
  int64_t eos_id = 2;      // generation of a row stops after it emits this id
  int64_t pad_id = 0;      // fills the left padding (masked, so its value does not matter)
  // A PEFT method's hooks. IAPT's prefixes are made once, at prefill, and then live in the cache;
  // at prefill the hooks receive the padded prompts' mask [rows, T] as the instruction mask (the
  // prompt is the instruction).
  nn::ForwardHooks* hooks = nullptr;
  // Multi-tenant hooks: the tenant of each prompt (the hooks receive it per row); empty otherwise.
  std::vector<int64_t> row_tenants;
  // Sampling instead of the most likely token (beams 1 only): temperature > 0 scales the
  // log-probabilities by 1 / temperature; top_k > 0 keeps the k most likely tokens, top_p < 1 the
  // fewest whose probability reaches top_p; the draws are Philox numbers of `seed`, one per row and
  // step, so a seed gives the same text on any machine and thread count.
  double temperature = 0;  // 0: the most likely token (greedy)
  int64_t top_k = 0;       // 0: no cut
  double top_p = 1.0;
  uint64_t seed = 0;
};

// The token a sampling step draws from log-probabilities `lp` with the options' temperature, top_k
// and top_p, given a uniform draw `u` in [0, 1) (exposed for the sampler's test).
int64_t sample_token(const std::vector<double>& lp, const GenerationOptions& options, double u);

struct Generation {
  std::vector<int64_t> tokens;  // the new tokens, the final EOS included when one was produced
  double logprob = 0;           // their summed log-probability
};

// One result per prompt; a prompt whose length plus max_new_tokens passes the model's positions
// is an error naming it. Beam search ranks finished hypotheses by logprob / length (Hugging
// Face's length_penalty = 1) and stops a prompt once `beams` hypotheses have finished.
std::vector<Generation> generate(const LlamaForCausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerationOptions& options);

// The beam-search code path whatever the beam count, so tests can run it with one beam.
std::vector<Generation> beam_search_for_testing(const LlamaForCausalLM& model,
                                                const std::vector<std::vector<int64_t>>& prompts,
                                                const GenerationOptions& options);

// The rows `rows` of t along axis 0, in that order (beam reordering of caches).
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& rows);

}  // namespace iapt::models
