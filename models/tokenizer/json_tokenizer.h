#pragma once
// A Hugging Face tokenizer.json (the tokenizers library's serialisation), read with its own
// semantics: the input is cut at the added tokens (longest first, with their lstrip, rstrip and
// single_word; all of them found in the raw text, those marked normalized too, and single_word's
// word characters are ASCII letters, digits and '_'), each piece between them normalised, pre-tokenised and encoded by the BPE model, and
// the post-processor's template (TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel or
// a Sequence of them) gives the special tokens encode(text) adds. BOS and EOS are the template's
// tokens before and after the text, else tokenizer_config.json's bos_token and eos_token beside it.
// Steps this reader does not know are refused by name (models/tokenizer/pipeline_steps.h).
#include <array>
#include <unordered_map>

#include "models/tokenizer.h"
#include "models/tokenizer/bpe.h"
#include "models/tokenizer/pipeline_steps.h"

namespace iapt::models {

class JsonTokenizer final : public Tokenizer {
 public:
  explicit JsonTokenizer(const std::string& path);

  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string piece(int64_t id) const override;
  int64_t vocab_size() const override { return vocab_size_; }

 private:
  struct AddedToken {
    std::string content;
    int64_t id = 0;
    bool single_word = false, lstrip = false, rstrip = false, special = false;
  };
  // Where the next added token starts at or after `from`, and the span it takes with its stripped
  // whitespace; `token` is null where none is left.
  struct AddedMatch {
    const AddedToken* token = nullptr;
    size_t begin = 0, end = 0;
  };
  void load(const nlohmann::json& file);
  AddedMatch next_added(std::string_view text, size_t from) const;
  std::vector<int64_t> encode_text(const std::string& text) const override;
  void encode_segment(std::string_view segment, bool at_input_start, std::vector<int64_t>& ids) const;
  void read_post_processor(const nlohmann::json& step);

  std::unique_ptr<Bpe> model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  Decoder decoder_;
  std::vector<AddedToken> added_;                            // longest content first
  std::array<std::vector<uint32_t>, 256> added_by_first_byte_;  // indexes into added_, longest first
  std::unordered_map<int64_t, size_t> added_by_id_;
  int64_t vocab_size_ = 0;
};

}  // namespace iapt::models
