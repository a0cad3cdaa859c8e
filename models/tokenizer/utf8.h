#pragma once
// UTF-8 as tokenizer.json's steps need it: text cut into characters, code points written back.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iapt::models::utf8 {

// Bytes in the character that starts with `lead` (1 for a byte that cannot start one).
int char_length(unsigned char lead);
// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid(std::string_view text);
// The text's characters, each as its bytes; `text` must be valid.
std::vector<std::string_view> chars(std::string_view text);
// The code point of a valid single character.
char32_t decode(std::string_view ch);
void append(std::string& out, char32_t code_point);
// `bytes` with each maximal ill-formed subsequence replaced by U+FFFD (Unicode's "substitution of
// maximal subparts", as Rust's from_utf8_lossy does, which Hugging Face's decoders use).
std::string lossy(std::string_view bytes);

}  // namespace iapt::models::utf8
