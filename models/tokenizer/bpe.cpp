#include "models/tokenizer/bpe.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <queue>

#include "core/error.h"
#include "models/tokenizer/utf8.h"

namespace iapt::models {

namespace {

using json = nlohmann::json;

std::string string_or_empty(const json& model, const char* key) {
  const auto it = model.find(key);
  return it == model.end() || it->is_null() ? std::string() : it->get<std::string>();
}

// One merge, in either of the file's forms: "left right" (one space between) or ["left", "right"].
std::pair<std::string, std::string> merge_parts(const json& m, size_t rank, const std::string& where) {
  if (m.is_array()) {
    IAPT_CHECK(m.size() == 2 && m[0].is_string() && m[1].is_string(),
               "{}: model.merges[{}] is {}; expected a pair of token strings", where, rank, m.dump());
    return {m[0].get<std::string>(), m[1].get<std::string>()};
  }
  IAPT_CHECK(m.is_string(), "{}: model.merges[{}] is {}; expected \"left right\" or [left, right]", where, rank, m.dump());
  const std::string s = m.get<std::string>();
  const size_t space = s.find(' ');
  IAPT_CHECK(space != std::string::npos && s.find(' ', space + 1) == std::string::npos,
             "{}: model.merges[{}] is \"{}\"; expected two tokens with one space between", where, rank, s);
  return {s.substr(0, space), s.substr(space + 1)};
}

}  // namespace

Bpe::Bpe(const json& model, const std::string& where) {
  IAPT_CHECK(model.is_object() && model.value("type", "BPE") == "BPE",
             "{}: model.type is {}; only BPE models are supported (WordPiece and Unigram are not)", where,
             model.is_object() ? model.value("type", std::string("?")) : model.dump());
  const auto dropout = model.find("dropout");
  IAPT_CHECK(dropout == model.end() || dropout->is_null() || dropout->get<double>() == 0.0,
             "{}: model.dropout is {}; BPE dropout is a training-time option and is not supported", where,
             dropout == model.end() ? "" : dropout->dump());
  IAPT_CHECK(model.contains("vocab") && model["vocab"].is_object(), "{}: model.vocab: expected an object of token: id",
             where);
  for (const auto& [token, id] : model["vocab"].items()) {
    IAPT_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t{1} << 31),
               "{}: model.vocab[\"{}\"] is {}; expected a token id", where, token, id.dump());
    const int64_t i = id.get<int64_t>();
    vocab_[token] = i;
    if (i >= size()) tokens_.resize(i + 1);
    tokens_[i] = token;
  }
  byte_fallback_ = model.value("byte_fallback", false);
  fuse_unk_ = model.value("fuse_unk", false);
  ignore_merges_ = model.value("ignore_merges", false);
  continuing_prefix_ = string_or_empty(model, "continuing_subword_prefix");
  end_suffix_ = string_or_empty(model, "end_of_word_suffix");
  if (const std::string unk = string_or_empty(model, "unk_token"); !unk.empty()) {
    IAPT_CHECK(vocab_.count(unk), "{}: model.unk_token \"{}\" is not in model.vocab", where, unk);
    unk_ = vocab_.at(unk);
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab_.find(fmt::format("<0x{:02X}>", b));
    byte_tokens_[b] = it == vocab_.end() ? -1 : it->second;
  }
  const json merges = model.value("merges", json::array());
  IAPT_CHECK(merges.is_array(), "{}: model.merges: expected a list", where);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    auto [left, right] = merge_parts(merges[rank], rank, where);
    const auto l = vocab_.find(left), r = vocab_.find(right);
    // the merged token drops the right part's continuing-subword prefix (WordPiece-style BPE)
    const std::string merged = left + right.substr(right.rfind(continuing_prefix_, 0) == 0 ? continuing_prefix_.size() : 0);
    const auto m = vocab_.find(merged);
    IAPT_CHECK(l != vocab_.end() && r != vocab_.end() && m != vocab_.end(),
               "{}: model.merges[{}] (\"{}\" + \"{}\"): {} is not in model.vocab", where, rank, left, right,
               l == vocab_.end() ? "\"" + left + "\"" : r == vocab_.end() ? "\"" + right + "\"" : "\"" + merged + "\"");
    merges_.try_emplace(pair_key(l->second, r->second), Merge{static_cast<int32_t>(rank), m->second});
  }
}

std::optional<int64_t> Bpe::id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? std::nullopt : std::optional<int64_t>(it->second);
}

const std::string& Bpe::token(int64_t id) const {
  static const std::string none;
  return id >= 0 && id < size() ? tokens_[id] : none;
}

const Bpe::Merge* Bpe::find_merge(int64_t left, int64_t right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::vector<int64_t> Bpe::initial_symbols(std::string_view word) const {
  std::vector<int64_t> symbols;
  std::optional<int64_t> pending_unk;  // with fuse_unk, a run of unknown characters is one token
  const auto flush_unk = [&] {
    if (pending_unk) symbols.push_back(*pending_unk);
    pending_unk.reset();
  };
  const std::vector<std::string_view> chars = utf8::chars(word);
  for (size_t i = 0; i < chars.size(); ++i) {
    std::string s(chars[i]);
    if (i > 0) s.insert(0, continuing_prefix_);
    if (i + 1 == chars.size()) s += end_suffix_;
    if (const auto it = vocab_.find(s); it != vocab_.end()) {
      flush_unk();
      symbols.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : s) all = all && byte_tokens_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        flush_unk();
        for (char c : s) symbols.push_back(byte_tokens_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    // Without an unknown token the character is dropped, as the tokenizers library does.
    if (!unk_) continue;
    if (!fuse_unk_) flush_unk();
    pending_unk = *unk_;
  }
  flush_unk();
  return symbols;
}

void Bpe::merge_all(std::vector<int64_t>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank;
    int pos;  // the left symbol's index
    int64_t merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto offer = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const Merge* m = find_merge(symbols[pos], symbols[next[pos]])) queue.push({m->rank, pos, m->merged});
  };
  for (int i = 0; i + 1 < n; ++i) offer(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    // stale: the left symbol was merged away, or its right neighbour is no longer the pair's
    if (!alive[c.pos] || next[c.pos] < 0) continue;
    const Merge* m = find_merge(symbols[c.pos], symbols[next[c.pos]]);
    if (m == nullptr || m->merged != c.merged) continue;
    const int right = next[c.pos];
    symbols[c.pos] = c.merged;
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    offer(prev[c.pos]);
    offer(c.pos);
  }
  size_t kept = 0;
  for (int i = 0; i < n; ++i)
    if (alive[i]) symbols[kept++] = symbols[i];
  symbols.resize(kept);
}

void Bpe::encode_word(std::string_view word, std::vector<int64_t>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto it = vocab_.find(std::string(word)); it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  std::vector<int64_t> symbols = initial_symbols(word);
  merge_all(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
}

}  // namespace iapt::models
