#include "models/generation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/ops.h"
#include "core/rng.h"

namespace iapt::models {

Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& rows) {
  std::vector<Tensor> parts;
  parts.reserve(rows.size());
  for (int64_t r : rows) parts.push_back(t.narrow(0, r, 1));
  return ops::concat(parts, 0);
}

namespace {

// The batch state shared by greedy and beam decoding: left-padded ids, the mask, each row's next
// RoPE position, and the cache.
struct Batch {
  KVCache cache;
  Tensor mask;                      // i64 [R, cached + pending]
  std::vector<int64_t> next_pos;    // per row
  nn::ForwardHooks* hooks = nullptr;
};

// Log-probabilities of last-position logits [R, V], as one host vector per row.
std::vector<std::vector<double>> host_logprobs(const Tensor& logits) {
  Tensor lp = ops::softmax(logits, -1, /*log=*/true).to(Device::CPU).to(DType::F64).contiguous();
  const int64_t rows = lp.size(0), v = lp.size(1);
  const double* p = lp.data<double>();
  std::vector<std::vector<double>> out(rows);
  for (int64_t r = 0; r < rows; ++r) out[r].assign(p + r * v, p + (r + 1) * v);
  return out;
}

// Runs the prompts (each repeated `copies` times) through the model; returns last-position log-probs [R, V].
std::vector<std::vector<double>> prefill(const LlamaForCausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                         int64_t copies, const GenerationOptions& o, Batch& batch) {
  const int64_t pad_id = o.pad_id;
  const int64_t rows = static_cast<int64_t>(prompts.size()) * copies;
  size_t longest = 0;
  for (const auto& p : prompts) {
    IAPT_CHECK(!p.empty(), "generate: an empty prompt (encode with BOS to start from nothing)");
    longest = std::max(longest, p.size());
  }
  const int64_t t = static_cast<int64_t>(longest);
  std::vector<int64_t> ids(rows * t, pad_id), mask(rows * t, 0), pos(rows * t, 0);
  batch.next_pos.assign(rows, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const auto& p = prompts[r / copies];
    const int64_t pad = t - static_cast<int64_t>(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      ids[r * t + pad + i] = p[i];
      mask[r * t + pad + i] = 1;
      pos[r * t + pad + i] = static_cast<int64_t>(i);
    }
    batch.next_pos[r] = static_cast<int64_t>(p.size());
  }
  batch.mask = from_ints(mask, {rows, t});
  batch.hooks = o.hooks;
  ForwardInputs in;
  in.hooks = o.hooks;
  in.batch.instruction_mask = batch.mask;
  if (!o.row_tenants.empty()) {
    IAPT_CHECK(o.row_tenants.size() == prompts.size(), "generate: {} row tenants for {} prompts", o.row_tenants.size(),
               prompts.size());
    for (int64_t r = 0; r < rows; ++r) in.batch.row_tenants.push_back(o.row_tenants[r / copies]);
  }
  in.attention_mask = batch.mask;
  in.positions = from_ints(pos, {rows, t});
  in.cache = &batch.cache;
  NoGradGuard no_grad;
  // only the last position's logits are needed: the prompt's others never reach the vocabulary
  Variable last = narrow(model.hidden_states(from_ints(ids, {rows, t}), in), 1, t - 1, 1);  // [R, 1, d]
  return host_logprobs(model.logits_of(last).data().squeeze(1));
}

// Feeds one token per row; returns the next log-probs [R, V].
std::vector<std::vector<double>> step(const LlamaForCausalLM& model, const std::vector<int64_t>& tokens, Batch& batch) {
  const int64_t rows = static_cast<int64_t>(tokens.size());
  batch.mask = ops::concat({batch.mask, ones({rows, 1}, DType::I64)}, 1);
  ForwardInputs in;
  in.attention_mask = batch.mask;
  in.positions = from_ints(batch.next_pos, {rows, 1});
  in.cache = &batch.cache;
  in.hooks = batch.hooks;  // its prefixes are in the cache; the hooks still shift positions
  for (auto& p : batch.next_pos) ++p;
  NoGradGuard no_grad;
  Tensor logits = model.forward(from_ints(tokens, {rows, 1}), in).data();  // [R, 1, V]
  return host_logprobs(logits.squeeze(1));
}

int64_t argmax(const std::vector<double>& v) {
  return static_cast<int64_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<Generation> greedy(const LlamaForCausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                               const GenerationOptions& o) {
  Batch batch;
  auto lp = prefill(model, prompts, 1, o, batch);
  const size_t rows = prompts.size();
  std::vector<Generation> out(rows);
  std::vector<bool> done(rows, false);
  for (int64_t n = 0; n < o.max_new_tokens; ++n) {
    std::vector<int64_t> next(rows, o.pad_id);
    bool all_done = true;
    for (size_t r = 0; r < rows; ++r) {
      if (done[r]) continue;
      next[r] = o.temperature > 0
                    ? sample_token(lp[r], o, philox_uniform_f64(o.seed, static_cast<uint64_t>(n) * rows + r))
                    : argmax(lp[r]);
      out[r].tokens.push_back(next[r]);
      out[r].logprob += lp[r][next[r]];
      done[r] = next[r] == o.eos_id;
      all_done = all_done && done[r];
    }
    if (all_done || n + 1 == o.max_new_tokens) break;
    lp = step(model, next, batch);
  }
  return out;
}

struct Hypothesis {
  std::vector<int64_t> tokens;
  double logprob;
  double score() const { return logprob / static_cast<double>(std::max<size_t>(tokens.size(), 1)); }
};

std::vector<Generation> beam_search(const LlamaForCausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                    const GenerationOptions& o) {
  const int64_t k = o.beams, p = static_cast<int64_t>(prompts.size());
  Batch batch;
  auto lp = prefill(model, prompts, k, o, batch);  // rows = prompt * k + beam
  const double neg_inf = -std::numeric_limits<double>::infinity();
  // Only the first beam of each prompt is live at the start, so the first step picks distinct tokens.
  std::vector<double> beam_logprob(p * k, neg_inf);
  std::vector<std::vector<int64_t>> beam_tokens(p * k);
  for (int64_t i = 0; i < p; ++i) beam_logprob[i * k] = 0;
  std::vector<std::vector<Hypothesis>> finished(p);
  std::vector<bool> done(p, false);

  for (int64_t n = 0; n < o.max_new_tokens; ++n) {
    std::vector<int64_t> source_rows(p * k), next_tokens(p * k, o.pad_id);
    std::vector<double> next_logprob(p * k, neg_inf);
    std::vector<std::vector<int64_t>> next_beam_tokens(p * k);
    const int64_t v = static_cast<int64_t>(lp[0].size());
    for (int64_t i = 0; i < p; ++i) {
      for (int64_t b = 0; b < k; ++b) source_rows[i * k + b] = i * k + b;  // finished prompts keep their rows
      if (done[i]) continue;
      // the 2k best (beam, token) extensions of this prompt
      std::vector<std::pair<double, int64_t>> cand;
      cand.reserve(k * v);
      for (int64_t b = 0; b < k; ++b) {
        const double base = beam_logprob[i * k + b];
        if (base == neg_inf) continue;
        for (int64_t tkn = 0; tkn < v; ++tkn) cand.emplace_back(base + lp[i * k + b][tkn], b * v + tkn);
      }
      const size_t take = std::min<size_t>(cand.size(), 2 * k);
      std::partial_sort(cand.begin(), cand.begin() + take, cand.end(),
                        [](const auto& a, const auto& b) { return a.first > b.first; });
      int64_t filled = 0;
      for (size_t c = 0; c < take && filled < k; ++c) {
        const int64_t b = cand[c].second / v, tkn = cand[c].second % v;
        std::vector<int64_t> toks = beam_tokens[i * k + b];
        toks.push_back(tkn);
        if (tkn == o.eos_id) {
          if (static_cast<int64_t>(c) < k) finished[i].push_back({toks, cand[c].first});
          continue;
        }
        const int64_t row = i * k + filled++;
        source_rows[row] = i * k + b;
        next_tokens[row] = tkn;
        next_logprob[row] = cand[c].first;
        next_beam_tokens[row] = std::move(toks);
      }
      done[i] = static_cast<int64_t>(finished[i].size()) >= k;
    }
    beam_logprob = next_logprob;
    beam_tokens = next_beam_tokens;
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || n + 1 == o.max_new_tokens) break;
    for (auto& layer : batch.cache.layers) {
      layer.k = gather_rows(layer.k, source_rows);
      layer.v = gather_rows(layer.v, source_rows);
    }
    batch.mask = gather_rows(batch.mask, source_rows);
    std::vector<int64_t> pos(p * k);
    for (int64_t r = 0; r < p * k; ++r) pos[r] = batch.next_pos[source_rows[r]];
    batch.next_pos = pos;
    lp = step(model, next_tokens, batch);
  }
  std::vector<Generation> out(p);
  for (int64_t i = 0; i < p; ++i) {
    std::vector<Hypothesis> hyps = finished[i];
    for (int64_t b = 0; b < k && !done[i]; ++b)  // unfinished beams compete when the length ran out
      if (beam_logprob[i * k + b] != neg_inf && !beam_tokens[i * k + b].empty())
        hyps.push_back({beam_tokens[i * k + b], beam_logprob[i * k + b]});
    IAPT_CHECK(!hyps.empty(), "beam search: no hypothesis for prompt {}", i);
    const Hypothesis& best = *std::max_element(hyps.begin(), hyps.end(),
                                               [](const auto& a, const auto& b) { return a.score() < b.score(); });
    out[i] = {best.tokens, best.logprob};
  }
  return out;
}

}  // namespace

int64_t sample_token(const std::vector<double>& lp, const GenerationOptions& o, double u) {
  IAPT_CHECK(o.temperature > 0 && o.top_p > 0 && o.top_p <= 1 && o.top_k >= 0,
             "generate: temperature {} (above 0), top_p {} (in (0, 1]), top_k {} (0 or more)", o.temperature, o.top_p,
             o.top_k);
  std::vector<int64_t> order(lp.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t keep = o.top_k > 0 ? std::min(lp.size(), static_cast<size_t>(o.top_k)) : lp.size();
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    [&](int64_t a, int64_t b) { return lp[a] > lp[b] || (lp[a] == lp[b] && a < b); });
  order.resize(keep);
  // the tempered probabilities of the kept tokens, most likely first, unnormalised
  std::vector<double> p(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += p[i] = std::exp((lp[order[i]] - lp[order[0]]) / o.temperature);
  // the nucleus: the fewest most likely tokens whose share of the mass reaches top_p
  size_t nucleus = keep;
  if (o.top_p < 1) {
    double mass = 0;
    for (size_t i = 0; i < keep; ++i)
      if ((mass += p[i]) >= o.top_p * total) {
        nucleus = i + 1;
        break;
      }
  }
  double kept = 0;
  for (size_t i = 0; i < nucleus; ++i) kept += p[i];
  double at = u * kept;
  for (size_t i = 0; i < nucleus; ++i)
    if ((at -= p[i]) < 0) return order[i];
  return order[nucleus - 1];  // u * kept rounded up to the whole mass
}

std::vector<Generation> beam_search_for_testing(const LlamaForCausalLM& model,
                                                const std::vector<std::vector<int64_t>>& prompts,
                                                const GenerationOptions& options) {
  return beam_search(model, prompts, options);
}

std::vector<Generation> generate(const LlamaForCausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerationOptions& options) {
  IAPT_CHECK(options.beams >= 1, "generate: beams must be at least 1, got {}", options.beams);
  IAPT_CHECK(options.max_new_tokens >= 1, "generate: max_new_tokens must be at least 1, got {}", options.max_new_tokens);
  // each beam is a row of the decoding batch: a wider search is a bigger batch, not a better answer
  IAPT_CHECK(options.beams <= kMaxBeams, "generate: beams must be at most {}, got {}", kMaxBeams, options.beams);
  const int64_t positions = model.config.max_position_embeddings;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto length = static_cast<int64_t>(prompts[i].size());
    IAPT_CHECK(length <= positions && options.max_new_tokens <= positions - length,
               "generate: prompt {} has {} tokens and max_new_tokens is {}: more than the model's {} positions "
               "(max_position_embeddings); shorten the prompt or generate fewer tokens",
               i, length, options.max_new_tokens, positions);
  }
  IAPT_CHECK(options.temperature == 0 || options.beams == 1,
             "generate: sampling (temperature {}) takes one beam, not {}", options.temperature, options.beams);
  IAPT_CHECK(options.temperature >= 0, "generate: temperature must be 0 (greedy) or above, got {}", options.temperature);
  if (prompts.empty()) return {};
  return options.beams == 1 ? greedy(model, prompts, options) : beam_search(model, prompts, options);
}

}  // namespace iapt::models
