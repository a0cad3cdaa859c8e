#pragma once
// A SentencePiece model (tokenizer.model), through Debian's libsentencepiece. encode(text) adds BOS
// as Hugging Face's LlamaTokenizer does (add_bos_token = true, add_eos_token = false).
#include <memory>

#include "models/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace iapt::models {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& model_path);
  ~SentencePieceTokenizer() override;

  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string piece(int64_t id) const override;
  int64_t vocab_size() const override;

 private:
  std::vector<int64_t> encode_text(const std::string& text) const override;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace iapt::models
