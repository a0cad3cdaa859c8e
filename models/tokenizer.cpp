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

std::string Tokenizer::piece(int64_t id) const { return sp_->IdToPiece(static_cast<int>(id)); }
int64_t Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
int64_t Tokenizer::bos_id() const { return sp_->bos_id(); }
int64_t Tokenizer::eos_id() const { return sp_->eos_id(); }

}  // namespace iapt::models
