#include "models/tokenizer/json_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/tokenizer/utf8.h"

namespace iapt::models {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

json read_json(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  IAPT_CHECK(in.good(), "{}: cannot open", file.string());
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON (byte {}): {}", file.string(), e.byte, e.what()));
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
// ASCII letters, digits and '_'; other characters do not end a word for single_word tokens here.
bool is_word_byte(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// tokenizer_config.json's "bos_token" or "eos_token": a string, or an object with its "content".
std::string config_token(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return {};
}

}  // namespace

JsonTokenizer::JsonTokenizer(const std::string& path) : Tokenizer(path) {
  try {
    load(read_json(path));
  } catch (const json::exception& e) {  // a field of the wrong type, where the steps read it
    throw Error(fmt::format("{}: a field does not hold what tokenizer.json holds there: {}", path, e.what()));
  }
}

void JsonTokenizer::load(const json& file) {
  const std::string& path = path_;
  IAPT_CHECK(file.is_object() && file.contains("model"), "{}: no \"model\"; expected a Hugging Face tokenizer.json", path);
  model_ = std::make_unique<Bpe>(file["model"], path);
  normalizer_ = make_normalizer(file.value("normalizer", json()), path);
  pre_tokenizer_ = make_pre_tokenizer(file.value("pre_tokenizer", json()), path);
  decoder_ = make_decoder(file.value("decoder", json()), path);
  vocab_size_ = model_->size();
  const json added = file.value("added_tokens", json::array());
  IAPT_CHECK(added.is_array(), "{}: added_tokens: expected a list", path);
  for (size_t i = 0; i < added.size(); ++i) {
    const json& a = added[i];
    IAPT_CHECK(a.is_object() && a.contains("id") && a["id"].is_number_integer() && a.contains("content") &&
                   a["content"].is_string() && !a["content"].get<std::string>().empty(),
               "{}: added_tokens[{}] is {}; expected an object with an integer \"id\" and a non-empty \"content\"",
               path, i, a.dump());
    AddedToken t{a["content"].get<std::string>(), a["id"].get<int64_t>(), a.value("single_word", false),
                 a.value("lstrip", false), a.value("rstrip", false), a.value("special", false)};
    IAPT_CHECK(t.id >= 0 && t.id < (int64_t{1} << 31), "{}: added_tokens[{}]: id {} is not a token id", path, i, t.id);
    vocab_size_ = std::max(vocab_size_, t.id + 1);
    added_.push_back(std::move(t));
  }
  std::stable_sort(added_.begin(), added_.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  for (size_t i = 0; i < added_.size(); ++i) {
    added_by_first_byte_[static_cast<unsigned char>(added_[i].content[0])].push_back(static_cast<uint32_t>(i));
    added_by_id_.emplace(added_[i].id, i);
  }
  read_post_processor(file.value("post_processor", json()));
  // BOS and EOS the template does not name come from the tokenizer's config beside it
  const fs::path config_file = fs::path(path).parent_path() / "tokenizer_config.json";
  if ((bos_ < 0 || eos_ < 0) && fs::is_regular_file(config_file)) {
    const json config = read_json(config_file);
    const auto id_of = [&](const std::string& token) -> int64_t {
      for (const AddedToken& t : added_)
        if (t.content == token) return t.id;
      return token.empty() ? -1 : model_->id(token).value_or(-1);
    };
    if (bos_ < 0) bos_ = id_of(config_token(config, "bos_token"));
    if (eos_ < 0) eos_ = id_of(config_token(config, "eos_token"));
  }
}

void JsonTokenizer::read_post_processor(const json& step) {
  if (step.is_null()) return;
  const std::string type = step.value("type", std::string());
  const std::string at = path_ + ": post_processor " + type;
  if (type == "Sequence") {
    IAPT_CHECK(step.contains("processors") && step["processors"].is_array(), "{}: expected a list \"processors\"", at);
    for (const json& p : step["processors"]) read_post_processor(p);
  } else if (type == "TemplateProcessing") {
    IAPT_CHECK(step.contains("single") && step["single"].is_array(), "{}: expected the list \"single\"", at);
    const json specials = step.value("special_tokens", json::object());
    bool after_text = false;
    for (const json& item : step["single"]) {
      if (item.contains("Sequence")) {
        after_text = true;
        continue;
      }
      IAPT_CHECK(item.contains("SpecialToken") && item["SpecialToken"].contains("id"),
                 "{}: single holds {}; expected {{\"SpecialToken\": ...}} or {{\"Sequence\": ...}}", at, item.dump());
      const std::string name = item["SpecialToken"]["id"].get<std::string>();
      IAPT_CHECK(specials.contains(name) && specials[name].contains("ids"),
                 "{}: the template names \"{}\", which special_tokens does not define", at, name);
      for (const json& id : specials[name]["ids"]) (after_text ? default_suffix_ : default_prefix_).push_back(id.get<int64_t>());
    }
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    // cls and sep are [token, id] pairs
    IAPT_CHECK(step.contains("cls") && step.contains("sep"), "{}: expected \"cls\" and \"sep\"", at);
    default_prefix_.push_back(step["cls"].at(1).get<int64_t>());
    default_suffix_.push_back(step["sep"].at(1).get<int64_t>());
  } else if (type != "ByteLevel") {  // ByteLevel only trims offsets, which ids do not carry
    throw Error(fmt::format("{}: post_processor type \"{}\" is not supported (TemplateProcessing, RobertaProcessing, "
                            "BertProcessing, ByteLevel and Sequence are)", path_, type));
  }
  if (default_prefix_.size() == 1) bos_ = default_prefix_[0];
  if (default_suffix_.size() == 1) eos_ = default_suffix_[0];
}

JsonTokenizer::AddedMatch JsonTokenizer::next_added(std::string_view text, size_t from) const {
  for (size_t pos = from; pos < text.size(); ++pos) {
    for (uint32_t i : added_by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const AddedToken& t = added_[i];
      if (text.compare(pos, t.content.size(), t.content) != 0) continue;
      size_t begin = pos, end = pos + t.content.size();
      if (t.single_word && ((begin > 0 && is_word_byte(text[begin - 1])) || (end < text.size() && is_word_byte(text[end]))))
        continue;
      if (t.lstrip)
        while (begin > from && is_space(text[begin - 1])) --begin;
      if (t.rstrip)
        while (end < text.size() && is_space(text[end])) ++end;
      return {&t, begin, end};
    }
  }
  return {};
}

std::vector<int64_t> JsonTokenizer::encode_text(const std::string& text) const {
  IAPT_CHECK(utf8::valid(text), "{}: the text to encode is not valid UTF-8", path_);
  std::vector<int64_t> ids;
  size_t at = 0;
  while (true) {
    const AddedMatch m = next_added(text, at);
    const size_t segment_end = m.token != nullptr ? m.begin : text.size();
    encode_segment(std::string_view(text).substr(at, segment_end - at), at == 0, ids);
    if (m.token == nullptr) break;
    ids.push_back(m.token->id);
    at = m.end;
  }
  return ids;
}

void JsonTokenizer::encode_segment(std::string_view segment, bool at_input_start, std::vector<int64_t>& ids) const {
  if (segment.empty()) return;
  std::vector<std::string> words{normalizer_(std::string(segment))};
  if (words[0].empty()) return;
  pre_tokenizer_(words, at_input_start);
  for (const std::string& w : words) model_->encode_word(w, ids);
}

std::string JsonTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    if (const auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      if (!added_[it->second].special) tokens.push_back(added_[it->second].content);
    } else if (!model_->token(id).empty()) {
      tokens.push_back(model_->token(id));
    }
  }
  decoder_(tokens);
  std::string text;
  for (const std::string& t : tokens) text += t;
  return text;
}

std::string JsonTokenizer::piece(int64_t id) const {
  if (const auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
  IAPT_CHECK(!model_->token(id).empty(), "{}: token id {} is not in the vocabulary (0 to {})", path_, id, vocab_size_ - 1);
  return model_->token(id);
}

}  // namespace iapt::models
