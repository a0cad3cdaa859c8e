#include "models/tokenizer.h"

#include <filesystem>
#include <sentencepiece_processor.h>

#include "core/error.h"

namespace iapt::models {

Tokenizer::Tokenizer(const std::string& model_path)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), path_(model_path) {
  const auto status = sp_->Load(model_path);
  IAPT_CHECK(status.ok(), "{}: cannot load the SentencePiece model: {}", model_path, status.ToString());
}

Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_model_dir(const std::string& dir) {
  const auto path = std::filesystem::path(dir) / "tokenizer.model";
  IAPT_CHECK(std::filesystem::exists(path), "{}: no tokenizer.model (a SentencePiece model is needed)", dir);
  return std::make_unique<Tokenizer>(path.string());
}

std::vector<int64_t> Tokenizer::encode(const std::string& text, bool add_bos, bool add_eos) const {
  std::vector<int> pieces;
  const auto status = sp_->Encode(text, &pieces);
  IAPT_CHECK(status.ok(), "{}: encoding failed: {}", path_, status.ToString());
  std::vector<int64_t> ids;
  ids.reserve(pieces.size() + 2);
  if (add_bos) ids.push_back(bos_id());
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  if (add_eos) ids.push_back(eos_id());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> pieces;
  for (int64_t id : ids)
    if (id != bos_id() && id != eos_id() && id >= 0 && id < vocab_size()) pieces.push_back(static_cast<int>(id));
  std::string text;
  const auto status = sp_->Decode(pieces, &text);
  IAPT_CHECK(status.ok(), "{}: decoding failed: {}", path_, status.ToString());
  return text;
}

std::string Tokenizer::piece(int64_t id) const {
  // SentencePiece indexes its piece table unchecked.
  IAPT_CHECK(id >= 0 && id < vocab_size(), "{}: token id {} is not in the vocabulary (0 to {})", path_, id, vocab_size() - 1);
  return sp_->IdToPiece(static_cast<int>(id));
}

void Tokenizer::require_fits(int64_t model_vocab_size, const std::string& model) const {
  IAPT_CHECK(vocab_size() <= model_vocab_size, "{}: the tokenizer has {} pieces, more than {}'s vocab_size of {}: ids "
             "from {} on have no embedding; use the model's own tokenizer", path_, vocab_size(), model, model_vocab_size,
             model_vocab_size);
}

int64_t Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int64_t Tokenizer::bos_id() const { return sp_->bos_id(); }
int64_t Tokenizer::eos_id() const { return sp_->eos_id(); }

}  // namespace iapt::models
