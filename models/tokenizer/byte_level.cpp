#include "models/tokenizer/byte_level.h"

#include <array>
#include <unordered_map>

#include "models/tokenizer/utf8.h"

namespace iapt::models::byte_level {

namespace {

struct Alphabet {
  std::array<std::string, 256> char_of;
  std::unordered_map<char32_t, unsigned char> byte_of;
  Alphabet() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
      utf8::append(char_of[b], cp);
      byte_of[cp] = static_cast<unsigned char>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

std::string encode(std::string_view bytes) {
  const Alphabet& a = alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += a.char_of[static_cast<unsigned char>(c)];
  return out;
}

bool decode(std::string_view chars, std::string& bytes) {
  const Alphabet& a = alphabet();
  for (std::string_view ch : utf8::chars(chars)) {
    const auto it = a.byte_of.find(utf8::decode(ch));
    if (it == a.byte_of.end()) return false;
    bytes += static_cast<char>(it->second);
  }
  return true;
}

}  // namespace iapt::models::byte_level
