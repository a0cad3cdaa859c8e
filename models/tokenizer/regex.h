#pragma once
// The regular expressions of tokenizer.json (pre-tokenizer splits, normaliser replacements), through
// PCRE2 in UTF mode with Unicode properties, so \p{L}, \p{N} and \s mean what they mean in the
// Oniguruma expressions Hugging Face's tokenizers run.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iapt::models {

class Regex {
 public:
  // `literal`: the pattern is a plain string to find, not an expression. `where` names the pattern
  // in errors (file and key).
  Regex(const std::string& pattern, bool literal, const std::string& where);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Every non-overlapping match in `text` (valid UTF-8), left to right, as [begin, end) byte offsets;
  // an empty match advances by one character, as the tokenizers' find_iter does.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view text) const;
  std::string replace_all(std::string_view text, std::string_view with) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> re_;
  std::string where_;
};

}  // namespace iapt::models
