// tokenizer.json against independent encoders, on the tokenizers of the shared folder (IAPT_SHARED,
// by default the shared folder beside the repository); skipped (exit 77) where they are absent.
//  - GPT-2's byte-level BPE (shared/tokenizers/gpt2, written as the tokenizer.json Hugging Face ships
//    for gpt2) against the ids npm's gpt-3-encoder@1.1.4 gave the 420 strings of
//    tests/fixtures/gpt2-tokenizer-ids.json (tests/reference/make_gpt2_tokenizer_fixture.sh).
//  - LLaMA-2's SentencePiece BPE (shared/tokenizers/llama2/tokenizer.model) written as a
//    tokenizer.json (tests/models/sentencepiece_json.h) against libsentencepiece on the same strings.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>
#include <string>
#include <unistd.h>

#include "models/tokenizer.h"
#include "tests/models/sentencepiece_json.h"

using namespace iapt;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string shared_dir() {
  const char* env = std::getenv("IAPT_SHARED");
  return env && *env ? env : IAPT_DEFAULT_SHARED_DIR;
}
fs::path gpt2_dir() { return fs::path(shared_dir()) / "tokenizers/gpt2"; }
fs::path llama2_model() { return fs::path(shared_dir()) / "tokenizers/llama2/tokenizer.model"; }

json read_json(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

struct Case {
  std::string text;
  std::vector<int64_t> ids;
};

std::vector<Case> reference_cases() {
  const json f = read_json(fs::path(IAPT_FIXTURE_DIR) / "gpt2-tokenizer-ids.json");
  std::vector<Case> cases;
  for (const json& c : f["cases"]) cases.push_back({c["text"].get<std::string>(), c["ids"].get<std::vector<int64_t>>()});
  return cases;
}

// A model directory of its own holding `tokenizer` as tokenizer.json.
fs::path write_tokenizer_dir(const std::string& name, const json& tokenizer) {
  const fs::path dir = fs::temp_directory_path() / ("iapt_tokenizer_" + name + "_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  return dir;
}

// GPT-2's vocab.json and merges.txt as the tokenizer.json Hugging Face ships for gpt2.
json gpt2_tokenizer_json(bool merges_as_pairs) {
  json merges = json::array();
  std::ifstream in(gpt2_dir() / "merges.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const size_t space = line.find(' ');
    merges.push_back(merges_as_pairs ? json::array({line.substr(0, space), line.substr(space + 1)}) : json(line));
  }
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  return json{{"version", "1.0"},
              {"added_tokens",
               {{{"id", 50256}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                 {"rstrip", false}, {"normalized", true}, {"special", true}}}},
              {"normalizer", nullptr},
              {"pre_tokenizer", byte_level},
              {"post_processor", byte_level},
              {"decoder", byte_level},
              {"model",
               {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false},
                {"vocab", read_json(gpt2_dir() / "vocab.json")}, {"merges", merges}}}};
}

}  // namespace

TEST_CASE("tokenizer.json: GPT-2's byte-level BPE gives gpt-3-encoder's ids for 420 strings, in both merge forms") {
  const std::vector<Case> cases = reference_cases();
  REQUIRE(cases.size() == 420);
  for (bool pairs : {false, true}) {
    INFO("merges as " << (pairs ? "pairs" : "strings"));
    const fs::path dir = write_tokenizer_dir(pairs ? "gpt2p" : "gpt2s", gpt2_tokenizer_json(pairs));
    const auto tok = models::Tokenizer::from_model_dir(dir.string());
    fs::remove_all(dir);  // read in full by the constructor
    CHECK(tok->vocab_size() == 50257);
    CHECK(tok->bos_id() == -1);  // no template and no tokenizer_config.json: nothing is added
    int compared = 0, differing = 0;
    std::string shown;  // the first differences
    for (const Case& c : cases) {
      // the reference knows no added tokens: it splits <|endoftext|> into text (checked below)
      if (c.text.find("<|endoftext|>") != std::string::npos) continue;
      ++compared;
      const std::vector<int64_t> ids = tok->encode(c.text);
      if (ids != c.ids && ++differing <= 5)
        shown += "text " + json(c.text).dump() + ": ids " + json(ids).dump() + ", reference " + json(c.ids).dump() + "\n";
      // byte-level BPE loses nothing: the ids decode to the text
      if (tok->decode(ids) != c.text && ++differing <= 5) shown += "decode(" + json(c.text).dump() + ") differs\n";
    }
    CHECK(compared == 419);
    INFO(shown);
    CHECK(differing == 0);
    // an added token is one id wherever it stands, and decode drops it as special
    CHECK(tok->encode("a<|endoftext|>b") == std::vector<int64_t>{64, 50256, 65});
    CHECK(tok->decode({64, 50256, 65}) == "ab");
  }
}

TEST_CASE("tokenizer.json: LLaMA-2's SentencePiece BPE as tokenizer.json gives libsentencepiece's ids and text") {
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(llama2_model().string()).ok());
  const fs::path dir = write_tokenizer_dir("llama2", testing::sentencepiece_as_tokenizer_json(llama2_model().string(), false));
  const auto tok = models::Tokenizer::from_model_dir(dir.string());
  fs::remove_all(dir);
  CHECK(tok->vocab_size() == 32000);
  CHECK(tok->bos_id() == 1);
  int differing = 0;
  std::string shown;  // the first differences
  int compared = 0;
  for (const Case& c : reference_cases()) {
    // libsentencepiece reads "<s>" in text as characters, tokenizer.json as the added token (below)
    if (c.text.find("<s>") != std::string::npos) continue;
    ++compared;
    std::vector<int> pieces;
    REQUIRE(sp.Encode(c.text, &pieces).ok());
    std::vector<int64_t> expected{sp.bos_id()};
    expected.insert(expected.end(), pieces.begin(), pieces.end());
    const std::vector<int64_t> ids = tok->encode(c.text);
    std::string text;
    REQUIRE(sp.Decode(pieces, &text).ok());
    if ((ids != expected || tok->decode(ids) != text) && ++differing <= 5)
      shown += "text " + json(c.text).dump() + ": ids " + json(ids).dump() + ", libsentencepiece " +
               json(expected).dump() + "; decoded " + json(tok->decode(ids)).dump() + ", " + json(text).dump() + "\n";
  }
  CHECK(compared == 419);
  INFO(shown);
  CHECK(differing == 0);
  // as transformers' LlamaTokenizerFast: the text between added tokens is normalised on its own ("▁▁")
  CHECK(tok->encode("<s> </s>") == std::vector<int64_t>{1, 1, 259, 2});
}

int main(int argc, char** argv) {
  if (!fs::exists(gpt2_dir() / "vocab.json") || !fs::exists(llama2_model())) {
    std::printf("SKIPPED: %s or %s not found (set IAPT_SHARED to the shared folder); 2 tokenizer tests not run\n",
                (gpt2_dir() / "vocab.json").c_str(), llama2_model().c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
