#pragma once
// The BPE model of a tokenizer.json ("model": {"type": "BPE", ...}): a word's characters are looked
// up in the vocabulary (their bytes' <0xXX> tokens where a character is missing and byte_fallback
// is set, else the unknown token), then the lowest-ranked adjacent pair is merged until no pair has
// a merge, as Hugging Face's tokenizers do (models/bpe in that library: a heap of candidate merges
// ordered by rank, then position).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace iapt::models {

class Bpe {
 public:
  // `model`: the file's "model" object; `where`: the file, for errors.
  Bpe(const nlohmann::json& model, const std::string& where);

  // Appends the ids of one pre-tokenised word (valid UTF-8).
  void encode_word(std::string_view word, std::vector<int64_t>& ids) const;
  std::optional<int64_t> id(std::string_view token) const;
  // The token's string; empty where the vocabulary has no such id.
  const std::string& token(int64_t id) const;
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }  // the largest id + 1

 private:
  struct Merge {
    int32_t rank;
    int64_t merged;  // the id of the pair's concatenation
  };
  static uint64_t pair_key(int64_t left, int64_t right) {
    return (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* find_merge(int64_t left, int64_t right) const;
  std::vector<int64_t> initial_symbols(std::string_view word) const;
  void merge_all(std::vector<int64_t>& symbols) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> tokens_;  // by id
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int64_t, 256> byte_tokens_{};  // <0x00> to <0xFF>, -1 where absent
  std::optional<int64_t> unk_;
  std::string continuing_prefix_, end_suffix_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
};

}  // namespace iapt::models
