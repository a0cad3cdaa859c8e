// The tokenizers on arbitrary input: any bytes as text to encode (invalid UTF-8 included), the ids
// it gives decoded back, and any bytes read as ids (negative, past the vocabulary) to decode and
// to name as pieces. Three tokenizers: the SentencePiece fixture, the same written as tokenizer.json,
// and a byte-level tokenizer.json with added tokens, a digit split and a normaliser.
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "fuzz_input.h"
#include "models/tokenizer.h"
#include "models/tokenizer/byte_level.h"
#include "tests/models/sentencepiece_json.h"

namespace {

using json = nlohmann::json;

std::unique_ptr<iapt::models::Tokenizer> from_json(const json& file, const std::string& name) {
  const std::string text = file.dump();
  const std::string path = iapt::fuzz::write_input(reinterpret_cast<const uint8_t*>(text.data()), text.size(), name);
  return iapt::models::Tokenizer::load(path);
}

json byte_level_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[iapt::models::byte_level::encode(std::string(1, static_cast<char>(b)))] = b;
  const json merges = {"h e", "\u0120 t", "\u0120t he", "1 2"};
  for (const char* t : {"he", "\u0120t", "\u0120the", "12"}) vocab[t] = vocab.size();
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  return {{"added_tokens",
           {{{"id", 300}, {"content", "<|end|>"}, {"special", true}, {"rstrip", true}},
            {{"id", 301}, {"content", "<mask>"}, {"special", false}, {"lstrip", true}},
            {{"id", 302}, {"content", "word"}, {"special", false}, {"single_word", true}}}},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Lowercase"}}, {{"type", "Strip"}}}}}},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}{1,3}"}}}, {"behavior", "Isolated"}}, byte_level}}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single", {{{"Sequence", {{"id", "A"}}}}, {{"SpecialToken", {{"id", "<|end|>"}}}}}},
            {"special_tokens", {{"<|end|>", {{"ids", {300}}}}}}}},
          {"decoder", byte_level},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tokenizers = [] {
    const std::string model = IAPT_FIXTURE_DIR "/tiny-tokenizer/tokenizer.model";
    std::vector<std::unique_ptr<iapt::models::Tokenizer>> t;
    t.push_back(iapt::models::Tokenizer::load(model));
    t.push_back(from_json(iapt::testing::sentencepiece_as_tokenizer_json(model, false), "-sp.json"));
    t.push_back(from_json(byte_level_tokenizer(), "-bytes.json"));
    return t;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<int64_t> ids(size / sizeof(int64_t));
  if (!ids.empty()) std::memcpy(ids.data(), data, ids.size() * sizeof(int64_t));
  for (const auto& tokenizer : tokenizers) {
    iapt::fuzz::expect_parsed_or_error([&] {
      const std::vector<int64_t> encoded = tokenizer->encode(text, size % 2 == 0, size % 3 == 0);
      (void)tokenizer->decode(encoded);
      (void)tokenizer->encode(text);
    });
    iapt::fuzz::expect_parsed_or_error([&] { (void)tokenizer->decode(ids); });
    for (int64_t id : ids) iapt::fuzz::expect_parsed_or_error([&] { (void)tokenizer->piece(id); });
  }
  return 0;
}
