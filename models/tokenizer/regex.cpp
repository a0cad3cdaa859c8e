#include "models/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "models/tokenizer/utf8.h"

namespace iapt::models {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Regex::Regex(const std::string& pattern, bool literal, const std::string& where)
    : re_(std::make_unique<Compiled>()), where_(where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // (PCRE2 refuses UCP beside LITERAL, where it would mean nothing)
  const uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  re_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error, &offset,
                            nullptr);
  IAPT_CHECK(re_->code != nullptr, "{}: the pattern '{}' does not compile at character {}: {}", where, pattern, offset,
             pcre2_message(error));
  pcre2_jit_compile(re_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter where JIT is absent
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::vector<std::pair<size_t, size_t>> Regex::matches(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(re_->code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  // The text was checked once by the caller; PCRE2 need not check it again at every start.
  const uint32_t options = PCRE2_NO_UTF_CHECK;
  while (start <= text.size()) {
    const int rc = pcre2_match(re_->code, subject, text.size(), start, options, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    IAPT_CHECK(rc >= 0, "{}: matching failed: {}", where_, pcre2_message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
    const size_t begin = ov[0], end = ov[1];
    if (end > begin) {
      out.emplace_back(begin, end);
      start = end;
    } else {
      if (begin >= text.size()) break;
      start = begin + utf8::char_length(static_cast<unsigned char>(text[begin]));
    }
  }
  return out;
}

std::string Regex::replace_all(std::string_view text, std::string_view with) const {
  std::string out;
  size_t at = 0;
  for (const auto& [begin, end] : matches(text)) {
    out.append(text.substr(at, begin - at));
    out.append(with);
    at = end;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace iapt::models
