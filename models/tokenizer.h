#pragma once
// SentencePiece tokenizers (tokenizer.model), through Debian's libsentencepiece. encode() adds BOS
// as Hugging Face's LlamaTokenizer does (add_bos_token = true, add_eos_token = false).
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace iapt::models {

class Tokenizer {
 public:
  explicit Tokenizer(const std::string& model_path);
  ~Tokenizer();
  // The tokenizer.model of a model directory.
  static std::unique_ptr<Tokenizer> from_model_dir(const std::string& dir);

  std::vector<int64_t> encode(const std::string& text, bool add_bos = true, bool add_eos = false) const;
  std::string decode(const std::vector<int64_t>& ids) const;  // special tokens are dropped
  std::string piece(int64_t id) const;
  int64_t vocab_size() const;
  int64_t bos_id() const;
  int64_t eos_id() const;
  // Refuses a tokenizer whose ids reach past a model's embeddings (`model` names the model, for the
  // message): its tokens would have no row to look up.
  void require_fits(int64_t model_vocab_size, const std::string& model) const;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_;
};

}  // namespace iapt::models
