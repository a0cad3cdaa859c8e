#include "models/evaluation.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "core/error.h"
#include "core/ops.h"

namespace iapt::models {

ContinuationScore score_continuation(const LlamaForCausalLM& model, const Tokenizer& tok, const std::string& context,
                                     const std::string& continuation) {
  std::vector<int64_t> ctx = tok.encode(context);
  std::vector<int64_t> whole = tok.encode(context + continuation);
  size_t common = 0;  // context tokens that survive unchanged in the joint encoding
  while (common < ctx.size() && common < whole.size() && ctx[common] == whole[common]) ++common;
  common = std::max<size_t>(common, 1);  // BOS at least: the first token is never predicted
  ContinuationScore s;
  s.tokens = static_cast<int64_t>(whole.size() - common);
  if (s.tokens == 0) return s;
  NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(whole.size());
  IAPT_CHECK(n <= model.config.max_position_embeddings,
             "score: context and continuation are {} tokens, more than the model's {} positions "
             "(max_position_embeddings)", n, model.config.max_position_embeddings);
  Tensor logits = model.forward(from_ints(whole, {1, n})).data().squeeze(0);  // [n, V]
  // position i predicts token i + 1
  Tensor lp = ops::softmax(logits.narrow(0, static_cast<int64_t>(common) - 1, s.tokens), -1, true);
  Tensor best = ops::amax(lp, {1});
  for (int64_t i = 0; i < s.tokens; ++i) {
    const double v = lp.at({i, whole[common + i]});
    s.logprob += v;
    s.is_greedy = s.is_greedy && v >= best.at({i});
  }
  return s;
}

double PerplexityResult::perplexity() const { return std::exp(nll_per_token); }

PerplexityResult perplexity(const LlamaForCausalLM& model, const std::vector<int64_t>& ids, int64_t window,
                            int64_t batch) {
  IAPT_CHECK(window >= 2 && batch >= 1, "perplexity: window {} and batch {}", window, batch);
  const int64_t n = static_cast<int64_t>(ids.size());
  IAPT_CHECK(n >= 2, "perplexity: {} tokens, too few to predict any", n);
  std::vector<std::pair<int64_t, int64_t>> windows;  // (start, length)
  for (int64_t s = 0; s + 1 < n; s += window) windows.emplace_back(s, std::min(window, n - s));
  PerplexityResult r;
  r.tokens = n;
  r.windows = static_cast<int64_t>(windows.size());
  double nll = 0;
  NoGradGuard no_grad;
  for (size_t first = 0; first < windows.size();) {
    const int64_t len = windows[first].second;  // a batch holds windows of one length
    size_t last = first;
    while (last < windows.size() && windows[last].second == len && static_cast<int64_t>(last - first) < batch) ++last;
    const int64_t b = static_cast<int64_t>(last - first);
    std::vector<int64_t> x, targets(b * len, -100);
    for (size_t i = first; i < last; ++i)
      x.insert(x.end(), ids.begin() + windows[i].first, ids.begin() + windows[i].first + len);
    for (int64_t row = 0; row < b; ++row)
      for (int64_t i = 0; i + 1 < len; ++i) targets[row * len + i] = x[row * len + i + 1];
    Variable logits = model.forward(from_ints(x, {b, len}));
    Variable loss = cross_entropy(reshape(logits, {b * len, -1}), from_ints(targets, {b * len}));
    nll += loss.item() * static_cast<double>(b * (len - 1));
    r.predicted += b * (len - 1);
    first = last;
  }
  r.nll_per_token = nll / static_cast<double>(r.predicted);
  return r;
}

std::vector<int64_t> token_stream(const Tokenizer& tok, const std::string& text, const std::string& format) {
  IAPT_CHECK(format == "raw" || format == "paragraphs" || format == "lines",
             "token_stream: format '{}' (raw, paragraphs or lines)", format);
  if (format == "raw") return tok.encode(text, true, false);
  std::vector<int64_t> ids;
  std::istringstream in(text);
  std::string line, paragraph;
  if (format == "lines") {
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto p = tok.encode(line, true, true);
      ids.insert(ids.end(), p.begin(), p.end());
    }
    return ids;
  }
  auto flush = [&] {
    if (paragraph.empty()) return;
    auto p = tok.encode(paragraph, true, true);
    ids.insert(ids.end(), p.begin(), p.end());
    paragraph.clear();
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      flush();
      continue;
    }
    paragraph += paragraph.empty() ? line : " " + line;
  }
  flush();
  return ids;
}

}  // namespace iapt::models
