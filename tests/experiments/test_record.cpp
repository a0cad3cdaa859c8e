// ReCoRD: passages and cloze queries flattened to one example per query with the passage's
// entities as candidates; ranking each example's own candidates agrees with ranking the task's
// label words when they are the same words.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "experiments/run/evaluator.h"
#include "experiments/tasks/task.h"
#include "models/checkpoint.h"
#include "models/tokenizer/sentencepiece_tokenizer.h"
#include "nn/peft/full.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {

const std::string kDefs = IAPT_SOURCE_DIR "/experiments/tasks/defs";

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("iapt_record_{}_{}", name, static_cast<long>(getpid()));
  fs::remove_all(d);
  fs::create_directories(d / "superglue/ReCoRD");
  return d;
}

// "Anna met Ben in Oslo.\n@highlight\nBen left" with entities Anna [0, 3], Ben [9, 11], Oslo [16, 19]
// and Ben again [33, 35]; two queries.
const char* kPassage =
    R"({"idx": 0, "passage": {"text": "Anna met Ben in Oslo.\n@highlight\nBen left", )"
    R"("entities": [{"start": 0, "end": 3}, {"start": 9, "end": 11}, {"start": 16, "end": 19}, {"start": 33, "end": 35}]}, )"
    R"("qas": [{"query": "@placeholder met Ben.", "answers": [{"start": 0, "end": 3, "text": "Anna"}], "idx": 0}, )"
    R"({"query": "They met in @placeholder.", "answers": [{"start": 16, "end": 19, "text": "Oslo"}, {"start": 16, "end": 19, "text": "Oslo"}], "idx": 1}]})";

}  // namespace

TEST_CASE("record: queries become examples with the passage's entities as candidates", "[experiments][tasks]") {
  fs::path d = scratch("read");
  std::ofstream(d / "superglue/ReCoRD/val.jsonl") << kPassage << "\n";
  auto task = tasks::load_task("record", kDefs);
  CHECK(task.free_response);
  auto rows = tasks::read_split(task, d.string(), "dev");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].candidates == std::vector<std::string>{"Anna", "Ben", "Oslo"});  // Ben once
  CHECK(rows[0].answers == std::vector<std::string>{"Anna"});
  CHECK(rows[1].answers == std::vector<std::string>{"Oslo"});
  CHECK(rows[1].response == "Oslo");
  CHECK(rows[0].fields.at("passage") == "Anna met Ben in Oslo.\n- Ben left");
  CHECK(rows[1].instruction.find("Query:\nThey met in @placeholder.\n") != std::string::npos);
  CHECK(rows[0].fields.at("passage_id") == rows[1].fields.at("passage_id"));

  std::ofstream(d / "superglue/ReCoRD/val.jsonl") << R"({"passage": {"text": "short", "entities": [{"start": 2, "end": 9}]}, "qas": []})"
                                                  << "\n";
  CHECK_THROWS_WITH(tasks::read_split(task, d.string(), "dev"), Catch::Contains("val.jsonl:1: entity span [2, 9] outside"));
  std::ofstream(d / "superglue/ReCoRD/val.jsonl") << R"({"passage": {"text": "no entities"}, "qas": []})" << "\n";
  CHECK_THROWS_WITH(tasks::read_split(task, d.string(), "dev"), Catch::Contains("val.jsonl:1: not a ReCoRD passage"));
}

TEST_CASE("record: ranking an example's own candidates agrees with ranking the label words", "[experiments][run]") {
  auto model = models::load_llama(IAPT_FIXTURE_DIR "/llama-gqa");
  models::SentencePieceTokenizer tok(IAPT_FIXTURE_DIR "/tiny-tokenizer/tokenizer.model");
  nn::FullFineTuning method(model);
  auto task = tasks::load_task("sst2", kDefs);
  std::vector<tasks::Example> plain, own;
  for (const char* sentence : {"a fine film", "so dull", "the cast was great", "boring and long", "ok"}) {
    tasks::Example e;
    e.instruction = std::string(sentence) + "\nThe sentiment of the given sentence is:";
    e.response = "positive";
    plain.push_back(e);
    e.candidates = {"positive", "negative"};  // the label words, in the other order
    own.push_back(e);
  }
  run::TaskOptions to;
  to.max_length = 32;
  auto a = run::evaluate(*model, method, tok, task, plain, to, {});
  auto b = run::evaluate(*model, method, tok, task, own, to, {});
  CHECK(a.predictions == b.predictions);
  CHECK(a.metrics.at("accuracy") == b.metrics.at("accuracy"));
  // one candidate: it is the prediction, whatever its likelihood
  own[0].candidates = {"negative"};
  CHECK(run::evaluate(*model, method, tok, task, own, to, {}).predictions[0] == "negative");
}
