#include "models/tokenizer/pipeline_steps.h"

#include <clocale>
#include <cwctype>
#include <locale.h>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/tokenizer/byte_level.h"
#include "models/tokenizer/regex.h"
#include "models/tokenizer/utf8.h"

namespace iapt::models {

namespace {

using json = nlohmann::json;
using Span = std::pair<size_t, size_t>;

// GPT-2's pre-tokeniser expression (ByteLevel's use_regex), as in OpenAI's encoder.py.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string type_of(const json& step, const std::string& where, const char* what) {
  IAPT_CHECK(step.is_object() && step.contains("type") && step["type"].is_string(),
             "{}: {} is {}; expected an object with a \"type\"", where, what, step.dump());
  return step["type"].get<std::string>();
}

std::vector<json> list_of(const json& step, const char* key, const std::string& where) {
  IAPT_CHECK(step.contains(key) && step[key].is_array(), "{}: a Sequence needs the list \"{}\"", where, key);
  return step[key].get<std::vector<json>>();
}

// A {"String": s} or {"Regex": r} pattern, as Replace and Split give them.
std::shared_ptr<Regex> pattern_of(const json& step, const std::string& where) {
  const json p = step.value("pattern", json());
  if (p.is_object() && p.contains("String")) return std::make_shared<Regex>(p["String"].get<std::string>(), true, where);
  if (p.is_object() && p.contains("Regex")) return std::make_shared<Regex>(p["Regex"].get<std::string>(), false, where);
  throw Error(fmt::format("{}: pattern is {}; expected {{\"String\": ...}} or {{\"Regex\": ...}}", where, p.dump()));
}

// The text cut into matches and the gaps between them, each marked, covering it all.
std::vector<std::pair<Span, bool>> matches_and_gaps(const Regex& re, std::string_view text) {
  std::vector<std::pair<Span, bool>> parts;
  size_t at = 0;
  for (const auto& [begin, end] : re.matches(text)) {
    if (begin > at) parts.push_back({{at, begin}, false});
    parts.push_back({{begin, end}, true});
    at = end;
  }
  if (at < text.size() || parts.empty()) parts.push_back({{at, text.size()}, false});
  return parts;
}

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior behavior_of(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  throw Error(fmt::format("{}: behavior is \"{}\"; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or "
                          "Contiguous", where, name));
}

// One word split as the tokenizers library's NormalizedString::split does.
void split_word(std::string_view word, const Regex& re, Behavior behavior, bool invert, std::vector<std::string>& out) {
  auto parts = matches_and_gaps(re, word);
  if (invert)
    for (auto& p : parts) p.second = !p.second;
  std::vector<std::pair<Span, bool>> kept;  // the second field: remove this piece
  bool previous_match = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto [span, is_match] = parts[i];
    switch (behavior) {
      case Behavior::Removed: kept.push_back({span, is_match}); break;
      case Behavior::Isolated: kept.push_back({span, false}); break;
      case Behavior::MergedWithPrevious:
        if (is_match && !previous_match && !kept.empty()) kept.back().first.second = span.second;
        else kept.push_back({span, false});
        break;
      case Behavior::Contiguous:
        if (is_match == previous_match && !kept.empty()) kept.back().first.second = span.second;
        else kept.push_back({span, false});
        break;
      case Behavior::MergedWithNext: break;  // below, walking backwards
    }
    previous_match = is_match;
  }
  if (behavior == Behavior::MergedWithNext) {
    previous_match = false;
    for (size_t i = parts.size(); i-- > 0;) {
      const auto [span, is_match] = parts[i];
      if (is_match && !previous_match && !kept.empty()) kept.back().first.first = span.first;
      else kept.push_back({span, false});
      previous_match = is_match;
    }
    std::reverse(kept.begin(), kept.end());
  }
  for (const auto& [span, removed] : kept)
    if (!removed && span.second > span.first) out.emplace_back(word.substr(span.first, span.second - span.first));
}

PreTokenizer splitter(std::shared_ptr<Regex> re, Behavior behavior, bool invert) {
  return [re, behavior, invert](std::vector<std::string>& words, bool) {
    std::vector<std::string> out;
    for (const std::string& w : words) split_word(w, *re, behavior, invert, out);
    words = std::move(out);
  };
}

std::string lowercase(const std::string& text) {
  // The C library's Unicode case tables (simple mappings), through the C.UTF-8 locale.
  static const locale_t c_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  std::string out;
  out.reserve(text.size());
  for (std::string_view ch : utf8::chars(text)) {
    const auto cp = static_cast<wint_t>(utf8::decode(ch));
    utf8::append(out, static_cast<char32_t>(c_utf8 != nullptr ? towlower_l(cp, c_utf8) : std::towlower(cp)));
  }
  return out;
}

}  // namespace

Normalizer make_normalizer(const json& step, const std::string& where) {
  if (step.is_null()) return [](std::string s) { return s; };
  const std::string type = type_of(step, where, "normalizer");
  const std::string at = where + ": normalizer " + type;
  if (type == "Sequence") {
    std::vector<Normalizer> steps;
    for (const json& s : list_of(step, "normalizers", at)) steps.push_back(make_normalizer(s, where));
    return [steps](std::string s) {
      for (const auto& n : steps) s = n(std::move(s));
      return s;
    };
  }
  if (type == "Prepend") {
    const std::string prefix = step.value("prepend", std::string());
    return [prefix](std::string s) { return s.empty() ? s : prefix + s; };
  }
  if (type == "Replace") {
    auto re = pattern_of(step, at);
    const std::string content = step.value("content", std::string());
    return [re, content](std::string s) { return re->replace_all(s, content); };
  }
  if (type == "Lowercase") return [](std::string s) { return lowercase(s); };
  if (type == "Strip") {
    const bool left = step.value("strip_left", true), right = step.value("strip_right", true);
    auto re = std::make_shared<Regex>(left && right ? R"(^\s+|\s+$)" : left ? R"(^\s+)" : R"(\s+$)", false, at);
    return [re, left, right](std::string s) { return left || right ? re->replace_all(s, "") : s; };
  }
  throw Error(fmt::format("{}: normalizer type \"{}\" is not supported (Sequence, Prepend, Replace, Lowercase and Strip "
                          "are; Unicode normal forms such as NFC are not)", where, type));
}

PreTokenizer make_pre_tokenizer(const json& step, const std::string& where) {
  if (step.is_null()) return [](std::vector<std::string>&, bool) {};
  const std::string type = type_of(step, where, "pre_tokenizer");
  const std::string at = where + ": pre_tokenizer " + type;
  if (type == "Sequence") {
    std::vector<PreTokenizer> steps;
    for (const json& s : list_of(step, "pretokenizers", at)) steps.push_back(make_pre_tokenizer(s, where));
    return [steps](std::vector<std::string>& words, bool at_start) {
      for (const auto& p : steps) p(words, at_start);
    };
  }
  if (type == "ByteLevel") {
    const bool prefix_space = step.value("add_prefix_space", false);
    std::shared_ptr<Regex> re;
    if (step.value("use_regex", true)) re = std::make_shared<Regex>(kGpt2Pattern, false, at);
    return [prefix_space, re](std::vector<std::string>& words, bool) {
      std::vector<std::string> out;
      for (std::string& w : words) {
        if (prefix_space && w.rfind(' ', 0) != 0) w.insert(0, " ");
        if (re) split_word(w, *re, Behavior::Isolated, false, out);
        else out.push_back(std::move(w));
      }
      for (std::string& w : out) w = byte_level::encode(w);
      words = std::move(out);
    };
  }
  if (type == "Split") {
    return splitter(pattern_of(step, at), behavior_of(step.value("behavior", std::string("Isolated")), at),
                    step.value("invert", false));
  }
  if (type == "Digits") {
    const bool each = step.value("individual_digits", false);
    return splitter(std::make_shared<Regex>(each ? R"(\p{N})" : R"(\p{N}+)", false, at), Behavior::Isolated, false);
  }
  if (type == "Whitespace")
    return splitter(std::make_shared<Regex>(R"(\w+|[^\w\s]+)", false, at), Behavior::Removed, true);
  if (type == "WhitespaceSplit") return splitter(std::make_shared<Regex>(R"(\s+)", false, at), Behavior::Removed, false);
  if (type == "Metaspace") {
    const std::string replacement = step.value("replacement", std::string("\u2581"));
    // files older than prepend_scheme say add_prefix_space instead
    std::string scheme = step.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = step.value("add_prefix_space", true) ? "always" : "never";
    IAPT_CHECK(scheme == "always" || scheme == "first" || scheme == "never",
               "{}: prepend_scheme is \"{}\"; expected always, first or never", at, scheme);
    std::shared_ptr<Regex> on_space = std::make_shared<Regex>(" ", true, at);
    std::shared_ptr<Regex> on_mark;
    if (step.value("split", true)) on_mark = std::make_shared<Regex>(replacement, true, at);
    return [=](std::vector<std::string>& words, bool at_start) {
      std::vector<std::string> out;
      for (size_t i = 0; i < words.size(); ++i) {
        std::string w = on_space->replace_all(words[i], replacement);
        const bool prepend = scheme == "always" || (scheme == "first" && i == 0 && at_start);
        if (prepend && w.rfind(replacement, 0) != 0) w.insert(0, replacement);
        if (on_mark) split_word(w, *on_mark, Behavior::MergedWithNext, false, out);
        else out.push_back(std::move(w));
      }
      words = std::move(out);
    };
  }
  throw Error(fmt::format("{}: pre_tokenizer type \"{}\" is not supported (Sequence, ByteLevel, Split, Digits, "
                          "Whitespace, WhitespaceSplit and Metaspace are)", where, type));
}

Decoder make_decoder(const json& step, const std::string& where) {
  if (step.is_null()) {
    return [](std::vector<std::string>& tokens) {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
      tokens = {joined};
    };
  }
  const std::string type = type_of(step, where, "decoder");
  const std::string at = where + ": decoder " + type;
  if (type == "Sequence") {
    std::vector<Decoder> steps;
    for (const json& s : list_of(step, "decoders", at)) steps.push_back(make_decoder(s, where));
    return [steps](std::vector<std::string>& tokens) {
      for (const auto& d : steps) d(tokens);
    };
  }
  if (type == "ByteLevel") {
    return [](std::vector<std::string>& tokens) {
      std::string bytes;
      for (const std::string& t : tokens) {
        std::string b;
        bytes += byte_level::decode(t, b) ? b : t;  // a token outside the alphabet is kept as it is
      }
      tokens = {utf8::lossy(bytes)};
    };
  }
  if (type == "Metaspace") {
    const std::string replacement = step.value("replacement", std::string("\u2581"));
    std::string scheme = step.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = step.value("add_prefix_space", true) ? "always" : "never";
    auto re = std::make_shared<Regex>(replacement, true, at);
    return [re, scheme](std::vector<std::string>& tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = re->replace_all(tokens[i], " ");
        if (i == 0 && scheme != "never" && tokens[i].rfind(' ', 0) == 0) tokens[i].erase(0, 1);
      }
    };
  }
  if (type == "Replace") {
    auto re = pattern_of(step, at);
    const std::string content = step.value("content", std::string());
    return [re, content](std::vector<std::string>& tokens) {
      for (std::string& t : tokens) t = re->replace_all(t, content);
    };
  }
  if (type == "ByteFallback") {
    // A run of <0xXX> tokens becomes its bytes where they are UTF-8, else one U+FFFD per token.
    return [](std::vector<std::string>& tokens) {
      std::vector<std::string> out;
      std::string bytes;
      size_t run = 0;
      const auto flush = [&] {
        if (run == 0) return;
        if (utf8::valid(bytes)) {
          out.push_back(bytes);
        } else {
          for (size_t k = 0; k < run; ++k) out.emplace_back("\uFFFD");
        }
        bytes.clear();
        run = 0;
      };
      for (const std::string& t : tokens) {
        unsigned value = 0;
        if (t.size() == 6 && t.rfind("<0x", 0) == 0 && t[5] == '>' && std::sscanf(t.c_str() + 3, "%2X", &value) == 1) {
          bytes += static_cast<char>(value);
          ++run;
        } else {
          flush();
          out.push_back(t);
        }
      }
      flush();
      tokens = std::move(out);
    };
  }
  if (type == "Fuse") {
    return [](std::vector<std::string>& tokens) {
      std::string joined;
      for (const std::string& t : tokens) joined += t;
      tokens = {joined};
    };
  }
  if (type == "Strip") {
    const std::string content = step.value("content", std::string(" "));
    const size_t start = step.value("start", 0), stop = step.value("stop", 0);
    return [content, start, stop](std::vector<std::string>& tokens) {
      for (std::string& t : tokens) {
        for (size_t k = 0; k < start && !content.empty() && t.rfind(content, 0) == 0; ++k) t.erase(0, content.size());
        for (size_t k = 0; k < stop && !content.empty() && t.size() >= content.size() &&
                           t.compare(t.size() - content.size(), content.size(), content) == 0;
             ++k)
          t.erase(t.size() - content.size());
      }
    };
  }
  throw Error(fmt::format("{}: decoder type \"{}\" is not supported (Sequence, ByteLevel, Metaspace, Replace, "
                          "ByteFallback, Fuse and Strip are)", where, type));
}

}  // namespace iapt::models
