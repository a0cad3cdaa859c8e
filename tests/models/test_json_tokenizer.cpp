// tokenizer.json (models/tokenizer/json_tokenizer.h) on files made here: the 64-piece SentencePiece
// fixture written as tokenizer.json against libsentencepiece, and small byte-level files whose ids are
// worked out by hand for added tokens, templates, splits and decoders; the refusals; `iapt tokenize`;
// and a training run whose tokenizer is the tokenizer.json taking the same steps as with the model.
// (Against independent encoders at full size: tests/data/test_shared_tokenizers.cpp.)
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sentencepiece_processor.h>

#include "core/error.h"
#include "models/tokenizer.h"
#include "models/tokenizer/byte_level.h"
#include "tests/experiments/cli_run.h"
#include "tests/models/sentencepiece_json.h"

using namespace iapt;
using iapt::testing::run_cli;
using iapt::testing::workspace;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kTinyModel = IAPT_FIXTURE_DIR "/tiny-tokenizer/tokenizer.model";

fs::path write_json(const fs::path& file, const json& j) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << j.dump();
  return file;
}

std::unique_ptr<models::Tokenizer> load(const fs::path& dir, const json& tokenizer) {
  return models::Tokenizer::load(write_json(dir / "tokenizer.json", tokenizer).string());
}

// A byte-level BPE file: the 256 byte characters as ids 0 to 255, then `tokens` (ids from 256 on,
// in order) with a merge each (its two parts, given as "left right"), and `extra` fields merged in.
json byte_level_file(const std::vector<std::pair<std::string, std::string>>& merges, const json& extra) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[models::byte_level::encode(std::string(1, static_cast<char>(b)))] = b;
  json merge_list = json::array();
  int next = 256;
  for (const auto& [left, right] : merges) {
    merge_list.push_back(left + " " + right);
    vocab[left + right] = next++;
  }
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  json file = {{"added_tokens", json::array()}, {"normalizer", nullptr}, {"pre_tokenizer", byte_level},
               {"post_processor", nullptr}, {"decoder", byte_level},
               {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}}};
  file.merge_patch(extra);
  return file;
}

json added(int64_t id, const std::string& content, bool special, bool lstrip = false, bool rstrip = false,
           bool single_word = false) {
  return {{"id", id}, {"content", content}, {"special", special}, {"lstrip", lstrip}, {"rstrip", rstrip},
          {"single_word", single_word}, {"normalized", false}};
}

// Sentences over the fixture's corpus words and a few it never saw (unknown characters included),
// single-spaced ASCII: the fixture's normaliser (nmt_nfkc, whitespace runs removed) changes none.
std::vector<std::string> tiny_corpus_sentences() {
  const std::vector<std::string> words{"the", "film", "movie", "plot", "cast", "story", "music", "was", "good",
                                       "great", "bad", "awful", "superb", "boring", "The", "sentiment", "of",
                                       "given", "sentence", "is:", "positive", "negative", "zebra", "QUIZ",
                                       "jukebox", "x-ray", "42", "it's", "goodgreat", "wasthe"};
  std::mt19937 rng(5);
  std::vector<std::string> out{"the film was good", "zzz", "q", "the"};
  for (int i = 0; i < 200; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 9);
    for (int k = 0; k < n; ++k) s += (k ? " " : "") + words[rng() % words.size()];
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("tokenizer.json: the SentencePiece fixture as tokenizer.json gives libsentencepiece's ids and text") {
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(kTinyModel).ok());
  const fs::path ws = workspace("json_tokenizer_sp");
  for (bool pairs : {false, true}) {
    INFO("merges as " << (pairs ? "pairs" : "strings"));
    const auto tok = load(ws / (pairs ? "p" : "s"), testing::sentencepiece_as_tokenizer_json(kTinyModel, pairs));
    CHECK(tok->vocab_size() == sp.GetPieceSize());
    CHECK(tok->bos_id() == 1);
    CHECK(tok->eos_id() == -1);  // the template adds none and no tokenizer_config.json names one
    int differing = 0, with_unknown = 0;
    std::string shown;
    for (const std::string& text : tiny_corpus_sentences()) {
      std::vector<int> pieces;
      REQUIRE(sp.Encode(text, &pieces).ok());
      std::vector<int64_t> expected{1};
      expected.insert(expected.end(), pieces.begin(), pieces.end());
      std::string decoded;
      REQUIRE(sp.Decode(pieces, &decoded).ok());
      const auto ids = tok->encode(text);
      // libsentencepiece writes <unk> as " ⁇ ", Hugging Face drops it as a special token
      const bool unknown = std::count(ids.begin(), ids.end(), 0) > 0;
      with_unknown += unknown;
      if ((ids != expected || (!unknown && tok->decode(ids) != decoded)) && ++differing <= 3)
        shown += text + ": " + json(ids).dump() + " against " + json(expected).dump() + "\n";
    }
    INFO(shown);
    CHECK(differing == 0);
    CHECK(with_unknown > 20);  // the unknown token's path was taken
    // unknown characters in a row are one <unk> (fuse_unk), as SentencePiece makes them
    CHECK(tok->encode("QQQ", false, false) == std::vector<int64_t>{tok->encode("Q", false, false)[0], 0});
  }
  fs::remove_all(ws);
}

TEST_CASE("tokenizer.json: added tokens, the template, tokenizer_config.json and the byte-level decoder") {
  const fs::path ws = workspace("json_tokenizer_added");
  // h+e=256 "he", l+l=257 "ll", he+ll=258 "hell", hell+o=259 "hello", Ġ+w=260 "Ġw"
  const std::vector<std::pair<std::string, std::string>> merges{
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\u0120", "w"}};
  const json specials = {
      {"added_tokens",
       {added(261, "<|bos|>", true), added(262, "<mask>", false, true), added(263, "<mask2>", false),
        added(264, "<|end|>", true), added(265, "[R]", false, false, true), added(266, "cat", false, false, false, true)}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<|bos|>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
        {"special_tokens", {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {261}}}}}}}}};
  const fs::path dir = ws / "model";
  write_json(dir / "tokenizer_config.json", {{"bos_token", "<|bos|>"}, {"eos_token", {{"content", "<|end|>"}}}});
  const auto tok = load(dir, byte_level_file(merges, specials));
  CHECK(tok->vocab_size() == 267);
  CHECK(tok->bos_id() == 261);  // the template's
  CHECK(tok->eos_id() == 264);  // tokenizer_config.json's
  CHECK(tok->encode("hello") == std::vector<int64_t>{261, 259});
  CHECK(tok->encode("hello", false, true) == std::vector<int64_t>{259, 264});
  // <mask> takes the space before it (lstrip); " w" is one word, "Ġw"
  CHECK(tok->encode("hello <mask> w", false, false) == std::vector<int64_t>{259, 262, 260});
  CHECK(tok->encode("<mask2>", false, false) == std::vector<int64_t>{263});  // the longest added token wins
  // [R] takes the spaces after it (rstrip)
  CHECK(tok->encode("[R]   w", false, false) == std::vector<int64_t>{265, 'w'});  // a byte's id is its value
  // "cat" is an added token only as a word of its own (single_word); "a " is "a" and "Ġ"
  CHECK(tok->encode("a cat", false, false) == std::vector<int64_t>{'a', ' ', 266});
  CHECK(tok->encode("cats", false, false).size() == 4);
  // special tokens are dropped from the text, other added tokens kept
  CHECK(tok->decode({261, 259, 262, 260, 264}) == "hello<mask> w");
  CHECK(tok->piece(260) == "\u0120w");
  // the same merges given as pairs
  json as_pairs = byte_level_file(merges, specials);
  for (auto& m : as_pairs["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    m = json::array({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  }
  const auto pairs = load(ws / "pairs", as_pairs);
  for (const char* text : {"hello <mask> w", "hellohello hello", "he ll o", "a cat [R] w"})
    CHECK(pairs->encode(text) == tok->encode(text));
  fs::remove_all(ws);
}

TEST_CASE("tokenizer.json: Split, Digits and Metaspace pre-tokenisers, byte fallback and the unknown token") {
  const fs::path ws = workspace("json_tokenizer_steps");
  // LLaMA-3's arrangement: digits in groups of three by a Split expression, then ByteLevel without its own
  // 34=256, 12=257, 123=258, 45=259
  const std::vector<std::pair<std::string, std::string>> digits{{"3", "4"}, {"1", "2"}, {"12", "3"}, {"4", "5"}};
  const json plain_bytes = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  const auto then_bytes = [&](const json& first) {
    return json{{"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", json::array({first, plain_bytes})}}}};
  };
  const json split = {{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}{1,3}"}}}, {"behavior", "Isolated"}, {"invert", false}};
  const auto grouped = load(ws / "llama3", byte_level_file(digits, then_bytes(split)));
  // 12345 -> "123" "45"; without the split the merges make "12" "34" "5"
  CHECK(grouped->encode("12345") == std::vector<int64_t>{258, 259});
  CHECK(load(ws / "unsplit", byte_level_file(digits, then_bytes(plain_bytes)))->encode("12345") ==
        std::vector<int64_t>{257, 256, '5'});
  const json each_digit = then_bytes({{"type", "Digits"}, {"individual_digits", true}});
  CHECK(load(ws / "digits", byte_level_file(digits, each_digit))->encode("123") ==
        std::vector<int64_t>{'1', '2', '3'});

  // Metaspace, "first": only the word at the input's start takes "▁"; byte fallback for what the
  // vocabulary lacks, else <unk>
  json vocab = {{"<unk>", 0}, {"<x>", 1}, {"\u2581a", 2}, {"\u2581b", 3}, {"a", 4}, {"b", 5}, {"\u2581", 6},
                {"<0xC3>", 7}, {"<0xA9>", 8}};
  const json metaspace = {
      {"added_tokens", {added(1, "<x>", true)}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", true}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Metaspace"}, {"prepend_scheme", "first"}}}}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"\u2581 a", "\u2581 b"}}, {"unk_token", "<unk>"},
                 {"byte_fallback", true}, {"fuse_unk", false}}}};
  const auto meta = load(ws / "metaspace", metaspace);
  CHECK(meta->encode("a b") == std::vector<int64_t>{2, 3});
  CHECK(meta->encode("<x>a b") == std::vector<int64_t>{1, 4, 3});
  CHECK(meta->encode("\u00e9") == std::vector<int64_t>{6, 7, 8});  // é as its two bytes' tokens
  CHECK(meta->encode("zz") == std::vector<int64_t>{6, 0, 0});      // no fuse_unk: one <unk> each
  CHECK(meta->decode({2, 3, 6, 7, 8}) == "a b \u00e9");
  fs::remove_all(ws);
}

TEST_CASE("tokenizer.json: what the reader cannot use is refused, naming the file and the step") {
  const fs::path ws = workspace("json_tokenizer_refusals");
  const auto refused = [&](const std::string& name, const json& file, const std::string& message) {
    INFO(name);
    const fs::path path = write_json(ws / name / "tokenizer.json", file);
    try {
      models::Tokenizer::load(path.string());
      FAIL("loaded");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains(path.string()) && Catch::Contains(message));
    }
  };
  const json base = byte_level_file({{"h", "e"}}, json::object());
  const auto with = [&](const json& patch) {
    json j = base;
    j.merge_patch(patch);
    return j;
  };
  refused("nfc", with({{"normalizer", {{"type", "NFC"}}}}), "normalizer type \"NFC\" is not supported");
  refused("unigram", with({{"model", {{"type", "Unigram"}}}}), "only BPE models are supported");
  json bad_merge = base;
  bad_merge["model"]["merges"].push_back("h zq");
  refused("merge", bad_merge, "model.merges[1] (\"h\" + \"zq\"): \"zq\" is not in model.vocab");
  const json bos_item = {{"SpecialToken", {{"id", "<s>"}}}};
  refused("template", with({{"post_processor", {{"type", "TemplateProcessing"}, {"single", json::array({bos_item})}}}}),
          "the template names \"<s>\", which special_tokens does not define");
  refused("type", with({{"model", {{"byte_fallback", "yes"}}}}), "a field does not hold what tokenizer.json holds there");
  refused("regex", with({{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(a"}}}}}}), "does not compile");
  fs::create_directories(ws / "broken");
  std::ofstream(ws / "broken" / "tokenizer.json") << "{\"model\": ";
  CHECK_THROWS_WITH(models::Tokenizer::load((ws / "broken" / "tokenizer.json").string()), Catch::Contains("not valid JSON"));
  fs::create_directories(ws / "empty");
  CHECK_THROWS_WITH(models::Tokenizer::from_model_dir((ws / "empty").string()),
                    Catch::Contains("no tokenizer.model (SentencePiece) or tokenizer.json"));
  const auto tok = load(ws / "ok", base);
  CHECK_THROWS_WITH(tok->encode(std::string("caf\xc3", 4)), Catch::Contains("not valid UTF-8"));
  fs::remove_all(ws);
}

TEST_CASE("iapt tokenize: JSON lines of ids from a directory's tokenizer.json or tokenizer.model") {
  const fs::path ws = workspace("tokenize_cli");
  write_json(ws / "json-only" / "tokenizer.json", testing::sentencepiece_as_tokenizer_json(kTinyModel, false));
  fs::create_directories(ws / "model-only");
  fs::copy_file(kTinyModel, ws / "model-only" / "tokenizer.model");
  std::ofstream(ws / "input.txt") << "the film was good\n\nThe sentiment is: negative\n";
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(kTinyModel).ok());
  for (const char* dir : {"json-only", "model-only"}) {
    INFO(dir);
    const auto r = run_cli("tokenize --model " + (ws / dir).string() + " --input " + (ws / "input.txt").string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(r.output);
    std::vector<std::string> texts;
    for (std::string line; std::getline(lines, line);) {
      const json j = json::parse(line);
      std::vector<int> pieces;
      REQUIRE(sp.Encode(j["text"].get<std::string>(), &pieces).ok());
      std::vector<int64_t> expected{1};
      expected.insert(expected.end(), pieces.begin(), pieces.end());
      CHECK(j["ids"].get<std::vector<int64_t>>() == expected);
      texts.push_back(j["text"].get<std::string>());
    }
    CHECK(texts == std::vector<std::string>{"the film was good", "", "The sentiment is: negative"});
  }
  // standard input, and a directory with neither file
  const auto piped = run_cli("tokenize --model " + (ws / "json-only").string() + " < " + (ws / "input.txt").string());
  CHECK(piped.exit_code == 0);
  CHECK(std::count(piped.output.begin(), piped.output.end(), '\n') == 3);
  fs::create_directories(ws / "none");
  testing::expect_refused(run_cli("tokenize --model " + (ws / "none").string()), "no tokenizer.model (SentencePiece) or tokenizer.json");
  fs::remove_all(ws);
}

TEST_CASE("tokenizer.json: a run whose tokenizer is the fixture's tokenizer.json takes the same steps as with the model") {
  const fs::path ws = workspace("json_tokenizer_run");
  // the task's template holds a newline, which the fixture's nmt_nfkc normaliser makes a space
  const json newline = {{"type", "Replace"}, {"pattern", {{"String", "\n"}}}, {"content", " "}};
  const fs::path json_file = write_json(ws / "json" / "tokenizer.json",
                                        testing::sentencepiece_as_tokenizer_json(kTinyModel, false, json::array({newline})));
  // EOS, which ends each response, from the tokenizer_config.json Hugging Face ships beside the file
  write_json(ws / "json" / "tokenizer_config.json", {{"bos_token", "<s>"}, {"eos_token", "</s>"}});
  std::string with_json = testing::config_text(ws, "b");
  with_json.replace(with_json.find(kTinyModel), kTinyModel.size(), json_file.string());
  std::ofstream(ws / "a.yaml") << testing::config_text(ws, "a");
  std::ofstream(ws / "b.yaml") << with_json;
  for (const char* name : {"a", "b"}) {
    const auto r = run_cli("run " + (ws / (std::string(name) + ".yaml")).string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  const auto summary = [&](const char* out) {
    std::ifstream in(ws / out / "tiny-sst2/seed-3/summary.json");
    return json::parse(in);
  };
  const json a = summary("a"), b = summary("b");
  CHECK(a["final_loss"] == b["final_loss"]);
  CHECK(a["dev"] == b["dev"]);
  CHECK(a["test"] == b["test"]);
  fs::remove_all(ws);
}
