#include "models/tokenizer.h"

#include <filesystem>

#include "core/error.h"
#include "models/tokenizer/json_tokenizer.h"
#include "models/tokenizer/sentencepiece_tokenizer.h"

namespace iapt::models {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
  IAPT_CHECK(fs::is_regular_file(path), "{}: no such tokenizer file", path);
  if (fs::path(path).extension() == ".json") return std::make_unique<JsonTokenizer>(path);
  return std::make_unique<SentencePieceTokenizer>(path);
}

std::string Tokenizer::default_file(const std::string& model_dir) {
  const fs::path dir(model_dir);
  const bool json_only = !fs::is_regular_file(dir / "tokenizer.model") && fs::is_regular_file(dir / "tokenizer.json");
  return (dir / (json_only ? "tokenizer.json" : "tokenizer.model")).string();
}

std::string Tokenizer::file_in(const std::string& model_dir) {
  const std::string file = default_file(model_dir);
  IAPT_CHECK(fs::is_regular_file(file), "{}: no tokenizer.model (SentencePiece) or tokenizer.json (Hugging Face "
             "tokenizers) in the model directory", model_dir);
  return file;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids = default_prefix_;
  const std::vector<int64_t> body = encode_text(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), default_suffix_.begin(), default_suffix_.end());
  return ids;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_bos, bool add_eos) const {
  std::vector<int64_t> ids;
  if (add_bos && bos_ >= 0) ids.push_back(bos_);
  const std::vector<int64_t> body = encode_text(text);
  ids.insert(ids.end(), body.begin(), body.end());
  if (add_eos && eos_ >= 0) ids.push_back(eos_);
  return ids;
}

void Tokenizer::require_fits(int64_t model_vocab_size, const std::string& model) const {
  IAPT_CHECK(vocab_size() <= model_vocab_size, "{}: the tokenizer has {} pieces, more than {}'s vocab_size of {}: ids "
             "from {} on have no embedding; use the model's own tokenizer", path_, vocab_size(), model, model_vocab_size,
             model_vocab_size);
}

}  // namespace iapt::models
