#pragma once
// GPT-2's byte-level alphabet (bytes_to_unicode in OpenAI's encoder.py, ByteLevel in Hugging Face's
// tokenizers): every byte is written as a printable character, so a BPE vocabulary of strings covers
// any byte sequence. Printable Latin-1 bytes stand for themselves; the 68 others (controls, space,
// DEL, the no-break and soft hyphens) take U+0100 on, in byte order.
#include <string>
#include <string_view>

namespace iapt::models::byte_level {

// Each byte of `bytes` as its character (UTF-8).
std::string encode(std::string_view bytes);
// The bytes a string of such characters stands for; false where a character is not one of the 256.
bool decode(std::string_view chars, std::string& bytes);

}  // namespace iapt::models::byte_level
