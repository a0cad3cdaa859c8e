#include "models/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "core/error.h"

namespace iapt::models {

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path)
    : Tokenizer(model_path), sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = sp_->Load(model_path);
  IAPT_CHECK(status.ok(), "{}: cannot load the SentencePiece model: {}", model_path, status.ToString());
  bos_ = sp_->bos_id();
  eos_ = sp_->eos_id();
  if (bos_ >= 0) default_prefix_ = {bos_};
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int64_t> SentencePieceTokenizer::encode_text(const std::string& text) const {
  std::vector<int> pieces;
  const auto status = sp_->Encode(text, &pieces);
  IAPT_CHECK(status.ok(), "{}: encoding failed: {}", path_, status.ToString());
  return {pieces.begin(), pieces.end()};
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> pieces;
  for (int64_t id : ids)
    if (id != bos_ && id != eos_ && id >= 0 && id < vocab_size()) pieces.push_back(static_cast<int>(id));
  std::string text;
  const auto status = sp_->Decode(pieces, &text);
  IAPT_CHECK(status.ok(), "{}: decoding failed: {}", path_, status.ToString());
  return text;
}

std::string SentencePieceTokenizer::piece(int64_t id) const {
  // SentencePiece indexes its piece table unchecked.
  IAPT_CHECK(id >= 0 && id < vocab_size(), "{}: token id {} is not in the vocabulary (0 to {})", path_, id, vocab_size() - 1);
  return sp_->IdToPiece(static_cast<int>(id));
}

int64_t SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace iapt::models
