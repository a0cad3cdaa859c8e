// The tokenizer on arbitrary input: any bytes as text to encode (invalid UTF-8 included), the ids
// it gives decoded back, and any bytes read as ids (negative, past the vocabulary) to decode and
// to name as pieces.
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_input.h"
#include "models/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tokenizer = iapt::models::Tokenizer::load(IAPT_FIXTURE_DIR "/tiny-tokenizer/tokenizer.model");
  const std::string text(reinterpret_cast<const char*>(data), size);
  iapt::fuzz::expect_parsed_or_error([&] {
    const std::vector<int64_t> ids = tokenizer->encode(text, size % 2 == 0, size % 3 == 0);
    (void)tokenizer->decode(ids);
  });
  std::vector<int64_t> ids(size / sizeof(int64_t));
  if (!ids.empty()) std::memcpy(ids.data(), data, ids.size() * sizeof(int64_t));
  iapt::fuzz::expect_parsed_or_error([&] { (void)tokenizer->decode(ids); });
  for (int64_t id : ids) iapt::fuzz::expect_parsed_or_error([&] { (void)tokenizer->piece(id); });
  return 0;
}
