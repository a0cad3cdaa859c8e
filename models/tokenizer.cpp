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

std::string Tokenizer::file_in(const std::string& model_dir) {
  for (const char* name : {"tokenizer.model", "tokenizer.json"})
    if (fs::is_regular_file(fs::path(model_dir) / name)) return (fs::path(model_dir) / name).string();
  throw Error(fmt::format("{}: no tokenizer.model (SentencePiece) or tokenizer.json (Hugging Face tokenizers) in the "
                          "model directory", model_dir));
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
