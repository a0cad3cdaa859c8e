#pragma once
// A model's tokenizer, from either of the files Hugging Face model directories ship:
//   tokenizer.model  SentencePiece (LLaMA, LLaMA-2), through Debian's libsentencepiece
//   tokenizer.json   the tokenizers library's file (LLaMA-3, SmolLM; byte-level BPE, or BPE with
//                    SentencePiece-style normalisation), models/tokenizer/json_tokenizer.h
// A directory with both loads tokenizer.model, whose library is the reference for such models.
#include <memory>
#include <string>
#include <vector>

namespace iapt::models {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // By file name: *.json is a tokenizer.json, anything else a SentencePiece model.
  static std::unique_ptr<Tokenizer> load(const std::string& path);
  // The tokenizer file of a model directory (tokenizer.model, else tokenizer.json); file_in refuses a
  // directory with neither, default_file names tokenizer.model there (for configs made before the files).
  static std::string file_in(const std::string& model_dir);
  static std::string default_file(const std::string& model_dir);
  static std::unique_ptr<Tokenizer> from_model_dir(const std::string& dir) { return load(file_in(dir)); }

  // The text's ids with the special tokens the tokenizer adds by default (SentencePiece models and
  // LLaMA's tokenizer.json: BOS; a tokenizer.json: its post-processor's template).
  std::vector<int64_t> encode(const std::string& text) const;
  // With BOS and EOS as asked, whatever the default; a tokenizer that has none adds nothing for it.
  std::vector<int64_t> encode(const std::string& text, bool add_bos, bool add_eos) const;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;  // special tokens are dropped
  virtual std::string piece(int64_t id) const = 0;
  virtual int64_t vocab_size() const = 0;
  int64_t bos_id() const { return bos_; }  // -1: none
  int64_t eos_id() const { return eos_; }
  const std::string& path() const { return path_; }
  // Refuses a tokenizer whose ids reach past a model's embeddings (`model` names the model, for the
  // message): its tokens would have no row to look up.
  void require_fits(int64_t model_vocab_size, const std::string& model) const;

 protected:
  explicit Tokenizer(std::string path) : path_(std::move(path)) {}
  // The text's ids alone, no special token added.
  virtual std::vector<int64_t> encode_text(const std::string& text) const = 0;

  std::string path_;
  int64_t bos_ = -1, eos_ = -1;
  std::vector<int64_t> default_prefix_, default_suffix_;  // what encode(text) adds around the text
};

}  // namespace iapt::models
