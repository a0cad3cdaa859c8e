#pragma once
// A SentencePiece BPE model written as a Hugging Face tokenizer.json, the way transformers'
// LlamaConverter writes LLaMA's: the pieces as the BPE vocabulary, merges made from the vocabulary
// (every split of a piece into two pieces, ordered by the piece's score, highest first; ties by the
// parts' ids, as SentencePieceExtractor orders them), "▁" normalisation, byte fallback where the model
// has <0xXX> pieces, and "<s> $A" as the template. The tests compare what this file encodes to what
// libsentencepiece encodes.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "models/tokenizer/utf8.h"

namespace iapt::testing {

// `first_normalizers` run before the "▁" ones: what a model's own normaliser does that the file
// should do too (the 64-piece fixture's nmt_nfkc writes a newline as a space).
inline nlohmann::json sentencepiece_as_tokenizer_json(const std::string& model_path, bool merges_as_pairs,
                                                      const nlohmann::json& first_normalizers = nlohmann::json::array()) {
  using json = nlohmann::json;
  sentencepiece::SentencePieceProcessor sp;
  if (!sp.Load(model_path).ok()) throw std::runtime_error(model_path + ": cannot load");
  const int n = sp.GetPieceSize();
  std::unordered_map<std::string, int> id;
  json vocab = json::object();
  bool has_bytes = false;
  for (int i = 0; i < n; ++i) {
    id[sp.IdToPiece(i)] = i;
    vocab[sp.IdToPiece(i)] = i;
    has_bytes = has_bytes || sp.IsByte(i);
  }
  struct Merge {
    std::string left, right;
    float score;
  };
  std::vector<Merge> merges;
  for (int i = 0; i < n; ++i) {
    const std::string piece = sp.IdToPiece(i);
    const auto chars = models::utf8::chars(piece);
    std::vector<Merge> local;
    size_t at = 0;
    for (size_t k = 0; k + 1 < chars.size(); ++k) {
      at += chars[k].size();
      const std::string left = piece.substr(0, at), right = piece.substr(at);
      if (id.count(left) && id.count(right)) local.push_back({left, right, sp.GetScore(i)});
    }
    std::sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      return std::tie(id[a.left], id[a.right]) < std::tie(id[b.left], id[b.right]);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  json merge_list = json::array();
  for (const Merge& m : merges)
    merge_list.push_back(merges_as_pairs ? json::array({m.left, m.right}) : json(m.left + " " + m.right));
  json added = json::array();
  for (int i = 0; i < n; ++i)
    if (sp.IsControl(i) || sp.IsUnknown(i))
      added.push_back({{"id", i}, {"content", sp.IdToPiece(i)}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}});
  const std::string bos = sp.IdToPiece(sp.bos_id());
  json normalizers = first_normalizers;
  normalizers.push_back({{"type", "Prepend"}, {"prepend", "\u2581"}});
  normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}});
  return json{
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{bos, {{"id", bos}, {"ids", {sp.bos_id()}}, {"tokens", {bos}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", sp.IdToPiece(sp.unk_id())},
        {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}, {"fuse_unk", true},
        {"byte_fallback", has_bytes}, {"vocab", vocab}, {"merges", merge_list}}}};
}

}  // namespace iapt::testing
