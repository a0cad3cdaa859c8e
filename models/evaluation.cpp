#include "models/evaluation.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "core/error.h"
#include "core/ops.h"

namespace iapt::models {

namespace {

// A pair's tokens: encode(context + continuation), of which the first `common` are the context's.
struct EncodedPair {
  std::vector<int64_t> whole;
  size_t common = 1;
};

EncodedPair encode_pair(const LlamaForCausalLM& model, const Tokenizer& tok, const std::string& context,
                        const std::string& continuation) {
  EncodedPair e;
  const std::vector<int64_t> ctx = tok.encode(context);
  e.whole = tok.encode(context + continuation);
  size_t common = 0;  // context tokens that survive unchanged in the joint encoding
  while (common < ctx.size() && common < e.whole.size() && ctx[common] == e.whole[common]) ++common;
  e.common = std::max<size_t>(common, 1);  // BOS at least: the first token is never predicted
  const int64_t n = static_cast<int64_t>(e.whole.size());
  IAPT_CHECK(n <= model.config.max_position_embeddings,
             "score: context and continuation are {} tokens, more than the model's {} positions "
             "(max_position_embeddings)", n, model.config.max_position_embeddings);
  return e;
}

}  // namespace

ContinuationScore score_continuation(const LlamaForCausalLM& model, const Tokenizer& tok, const std::string& context,
                                     const std::string& continuation, nn::ForwardHooks* hooks) {
  const EncodedPair e = encode_pair(model, tok, context, continuation);
  const std::vector<int64_t>& whole = e.whole;
  const size_t common = e.common;
  ContinuationScore s;
  s.tokens = static_cast<int64_t>(whole.size() - common);
  if (s.tokens == 0) return s;
  NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(whole.size());
  ForwardInputs in;
  if (hooks != nullptr) {  // a method reads its instruction: the context's tokens
    std::vector<int64_t> instruction(whole.size(), 0);
    std::fill(instruction.begin(), instruction.begin() + static_cast<std::ptrdiff_t>(common), 1);
    in.hooks = hooks;
    in.batch.instruction_mask = from_ints(instruction, {1, n});
  }
  Tensor logits = model.forward(from_ints(whole, {1, n}), in).data().squeeze(0);  // [n, V]
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

std::vector<ContinuationScore> score_continuations(const LlamaForCausalLM& model, const Tokenizer& tok,
                                                   const std::vector<std::pair<std::string, std::string>>& pairs,
                                                   int64_t batch_size, bool left_padding,
                                                   const std::vector<std::string>& names, nn::ForwardHooks* hooks) {
  IAPT_CHECK(batch_size >= 1, "score: batch size {} (at least 1)", batch_size);
  std::vector<EncodedPair> encoded;
  for (size_t i = 0; i < pairs.size(); ++i) {
    try {
      encoded.push_back(encode_pair(model, tok, pairs[i].first, pairs[i].second));
    } catch (const Error& e) {
      throw Error(i < names.size() ? fmt::format("{}: {}", names[i], e.what()) : std::string(e.what()));
    }
  }
  // longest first, so that each batch pads little (and the first shows the peak memory)
  std::vector<size_t> order(pairs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return encoded[a].whole.size() > encoded[b].whole.size(); });
  std::vector<ContinuationScore> out(pairs.size());
  NoGradGuard no_grad;
  for (size_t first = 0; first < order.size(); first += static_cast<size_t>(batch_size)) {
    const size_t last = std::min(order.size(), first + static_cast<size_t>(batch_size));
    const int64_t rows = static_cast<int64_t>(last - first);
    const int64_t t = static_cast<int64_t>(encoded[order[first]].whole.size());
    std::vector<int64_t> ids(rows * t, 0), mask(rows * t, 0), pos(rows * t, 0), offset(rows), instruction(rows * t, 0);
    for (int64_t r = 0; r < rows; ++r) {
      const EncodedPair& e = encoded[order[first + r]];
      offset[r] = left_padding ? t - static_cast<int64_t>(e.whole.size()) : 0;  // where the row's tokens start
      for (size_t i = 0; i < e.whole.size(); ++i) {
        ids[r * t + offset[r] + i] = e.whole[i];
        mask[r * t + offset[r] + i] = 1;
        pos[r * t + offset[r] + i] = static_cast<int64_t>(i);
        instruction[r * t + offset[r] + i] = i < e.common ? 1 : 0;
      }
    }
    ForwardInputs in;
    in.attention_mask = from_ints(mask, {rows, t});
    in.positions = from_ints(pos, {rows, t});
    if (hooks != nullptr) {  // a method reads its instruction: the context's tokens
      in.hooks = hooks;
      in.batch.instruction_mask = from_ints(instruction, {rows, t});
    }
    // only the positions that predict a continuation token reach the vocabulary: their hidden
    // states [K, d] (gathered as an embedding lookup's rows), then log-probabilities [K, V] on the
    // host in f32; position i predicts token i + 1
    std::vector<int64_t> at;
    for (int64_t r = 0; r < rows; ++r) {
      const EncodedPair& e = encoded[order[first + r]];
      for (size_t i = e.common; i < e.whole.size(); ++i) at.push_back(r * t + offset[r] + static_cast<int64_t>(i) - 1);
    }
    if (at.empty()) continue;  // every continuation of the batch is empty
    const Tensor hidden = model.hidden_states(from_ints(ids, {rows, t}), in).data();  // [rows, t, d]
    const Tensor picked = ops::embedding(hidden.reshape({rows * t, hidden.size(2)}),
                                         from_ints(at, {static_cast<int64_t>(at.size())}).to(hidden.device()));
    const Tensor lp = ops::softmax(model.logits_of(Variable(picked)).data(), -1, true)
                          .to(Device::CPU)
                          .to(DType::F32)
                          .contiguous();  // [K, V]
    const int64_t v = lp.size(1);
    const float* row = lp.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      const EncodedPair& e = encoded[order[first + r]];
      ContinuationScore& s = out[order[first + r]];
      s.tokens = static_cast<int64_t>(e.whole.size() - e.common);
      for (size_t i = e.common; i < e.whole.size(); ++i, row += v) {
        const float chosen = row[e.whole[i]];
        s.logprob += chosen;
        s.is_greedy = s.is_greedy && chosen >= *std::max_element(row, row + v);
      }
    }
  }
  return out;
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
