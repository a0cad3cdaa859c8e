#pragma once
// Likelihood-based evaluation of a language model: the log-likelihood of a continuation given a
// context (how evaluation harnesses rank answers), and perplexity over a token stream.
#include <string>
#include <vector>

#include "models/llama.h"
#include "models/tokenizer.h"

namespace iapt::models {

struct ContinuationScore {
  double logprob = 0;   // summed over the continuation's tokens
  int64_t tokens = 0;
  bool is_greedy = true;  // every continuation token is the model's argmax
};

// The continuation's tokens are those of encode(context + continuation) after the tokens of
// encode(context), so SentencePiece's handling of the joining space matches the harnesses'.
// `hooks`: a trained method's (its instruction is the context), or none for the model alone.
ContinuationScore score_continuation(const LlamaForCausalLM& model, const Tokenizer& tok, const std::string& context,
                                     const std::string& continuation, nn::ForwardHooks* hooks = nullptr);

// score_continuation for many pairs, `batch_size` at a time: pairs of similar length share a
// padded batch (padded on the right, or on the left with each row's positions starting at 0), its
// padding masked out of attention. The scores are those of one pair at a time, up to the last bits
// of the products (tests/models: within 1e-6 of 1 + |logprob|). Returned in the pairs' order. An error about a pair
// starts with its name in `names` (as "file:line"), where given.
std::vector<ContinuationScore> score_continuations(const LlamaForCausalLM& model, const Tokenizer& tok,
                                                   const std::vector<std::pair<std::string, std::string>>& pairs,
                                                   int64_t batch_size, bool left_padding = false,
                                                   const std::vector<std::string>& names = {},
                                                   nn::ForwardHooks* hooks = nullptr);

struct PerplexityResult {
  int64_t tokens = 0, windows = 0, predicted = 0;
  double nll_per_token = 0;
  double perplexity() const;
};

// Non-overlapping windows of `window` tokens (a shorter last one included); in each, every token
// after the first is predicted from the window's earlier tokens.
PerplexityResult perplexity(const LlamaForCausalLM& model, const std::vector<int64_t>& ids, int64_t window,
                            int64_t batch);

// A text as one token stream. "raw": [BOS] + tokens(text). "paragraphs": blank-line separated
// paragraphs, each line-joined, as [BOS] text [EOS], concatenated (the en-llama training format).
// "lines": every non-empty line as [BOS] line [EOS] (one document per line).
std::vector<int64_t> token_stream(const Tokenizer& tok, const std::string& text, const std::string& format);

}  // namespace iapt::models
