// Task readers, templates and the split protocol on small files written here.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "experiments/tasks/task.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / "iapt_tasks" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const std::string kDefs = IAPT_SOURCE_DIR "/experiments/tasks/defs";

std::string sst2_rows(int n) {
  std::string s = "sentence\tlabel\n";
  for (int i = 0; i < n; ++i) s += fmt::format("review number {} \t{}\n", i, i % 2);
  return s;
}

}  // namespace

TEST_CASE("tasks: SST-2 rows become instructions and label words", "[experiments][tasks]") {
  fs::path d = scratch("sst2");
  write(d / "glue/SST-2/train.tsv", sst2_rows(4));
  write(d / "glue/SST-2/dev.tsv", sst2_rows(2));
  tasks::TaskSpec t = tasks::load_task("sst2", kDefs);
  auto rows = tasks::read_split(t, d.string(), "train");
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].instruction == "review number 1 \nThe sentiment of the given sentence is:");
  CHECK(rows[1].response == "positive");
  CHECK(rows[0].response == "negative");
  CHECK(rows[1].source.ends_with("train.tsv:3"));
}

TEST_CASE("tasks: malformed rows and unknown labels name the file and line", "[experiments][tasks]") {
  fs::path d = scratch("bad");
  tasks::TaskSpec t = tasks::load_task("sst2", kDefs);
  write(d / "glue/SST-2/dev.tsv", "sentence\tlabel\ngood film\t1\nbad film\n");
  CHECK_THROWS_WITH(tasks::read_split(t, d.string(), "dev"),
                    Catch::Contains("dev.tsv:3: expected 2 tab-separated fields, got 1"));
  write(d / "glue/SST-2/dev.tsv", "sentence\tlabel\ngood film\t7\n");
  CHECK_THROWS_WITH(tasks::read_split(t, d.string(), "dev"), Catch::Contains("dev.tsv:2: label '7' is not one of 0, 1"));
  CHECK_THROWS_WITH(tasks::read_split(t, (d / "nowhere").string(), "dev"),
                    Catch::Contains("SST-2/dev.tsv: cannot open the data file"));
  write(d / "superglue/COPA/val.jsonl", "{\"premise\": \"p\", \"choice1\": \"a\"}\n");
  CHECK_THROWS_WITH(tasks::read_split(tasks::load_task("copa", kDefs), d.string(), "dev"),
                    Catch::Contains("val.jsonl:1: missing key 'choice2'"));
  // a number past double's range is an error of the line, not a library exception (found by fuzzing)
  write(d / "superglue/COPA/val.jsonl", "{\"premise\": 4888888.4E44444422222222221}\n");
  CHECK_THROWS_WITH(tasks::read_split(tasks::load_task("copa", kDefs), d.string(), "dev"),
                    Catch::Contains("val.jsonl:1: not valid JSON") && Catch::Contains("number overflow"));
  CHECK_THROWS_WITH(tasks::load_task("sst3", kDefs), Catch::Contains("did you mean 'sst2'?"));
}

TEST_CASE("tasks: JSON lines with nested keys, MultiRC flattened", "[experiments][tasks]") {
  fs::path d = scratch("json");
  write(d / "superglue/WSC/val.jsonl",
        R"({"text": "Mark lied. He was caught.", "target": {"span1_text": "Mark", "span2_text": "He"}, "label": true})"
        "\n");
  auto wsc = tasks::read_split(tasks::load_task("wsc", kDefs), d.string(), "dev");
  REQUIRE(wsc.size() == 1);
  CHECK(wsc[0].instruction == "Mark lied. He was caught.\nIn the passage above, does \"He\" refer to \"Mark\"?");
  CHECK(wsc[0].response == "yes");
  write(d / "superglue/MultiRC/val.jsonl",
        R"({"idx": 0, "passage": {"text": "T", "questions": [{"question": "Q1", "answers": [{"text": "A", "label": 1}, {"text": "B", "label": 0}]}, {"question": "Q2", "answers": [{"text": "C", "label": 0}]}]}})"
        "\n");
  auto mrc = tasks::read_split(tasks::load_task("multirc", kDefs), d.string(), "dev");
  REQUIRE(mrc.size() == 3);
  CHECK(mrc[1].fields.at("answer") == "B");
  CHECK(mrc[1].response == "no");
  CHECK(mrc[2].fields.at("group") == "1/1");
}

TEST_CASE("tasks: the paper's split protocol, seeded", "[experiments][tasks]") {
  fs::path d = scratch("splits");
  write(d / "glue/SST-2/train.tsv", sst2_rows(40));
  write(d / "glue/SST-2/dev.tsv", sst2_rows(11));
  tasks::TaskSpec t = tasks::load_task("sst2", kDefs);
  tasks::Splits s = tasks::make_splits(t, d.string(), {.seed = 3});
  CHECK(s.train.size() == 40);  // under 10k: the dev set is halved
  CHECK(s.dev.size() == 5);
  CHECK(s.test.size() == 6);
  CHECK(s.protocol.find("halved") != std::string::npos);
  tasks::Splits again = tasks::make_splits(t, d.string(), {.seed = 3});
  CHECK(again.dev[0].source == s.dev[0].source);
  tasks::Splits other = tasks::make_splits(t, d.string(), {.seed = 4});
  std::vector<std::string> a, b;
  for (auto& e : s.dev) a.push_back(e.source);
  for (auto& e : other.dev) b.push_back(e.source);
  CHECK(a != b);
  // no dev example is also a test example
  for (auto& e : s.dev)
    for (auto& f : s.test) CHECK(e.source != f.source);

  write(d / "glue/SST-2/train.tsv", sst2_rows(10500));  // over 10k: 1000 held out
  tasks::Splits big = tasks::make_splits(t, d.string(), {.seed = 3, .max_train = 200});
  CHECK(big.dev.size() == 1000);
  CHECK(big.test.size() == 11);
  CHECK(big.train.size() == 200);
  CHECK(big.protocol.find("subsampled to 200") != std::string::npos);

  fs::remove(d / "glue/SST-2/train.tsv");  // a missing training file
  CHECK_THROWS_WITH(tasks::make_splits(t, d.string(), {}), Catch::Contains("has no training file"));
  tasks::Splits carved = tasks::make_splits(t, d.string(), {.seed = 1, .carve_train = 0.5, .carve_dev = 0.2});
  CHECK(carved.train.size() == 5);
  CHECK(carved.dev.size() == 2);
  CHECK(carved.test.size() == 4);
}

TEST_CASE("tasks: MultiRC's splits keep each passage whole", "[experiments][tasks]") {
  fs::path d = scratch("multirc_split");
  // 12 passages with 1 to 4 answers each: halving by example would cut some passage in two
  std::string rows;
  for (int p = 0; p < 12; ++p) {
    std::string answers;
    for (int a = 0; a <= p % 4; ++a)
      answers += fmt::format(R"({}{{"text": "A{}", "label": {}}})", a ? ", " : "", a, (p + a) % 2);
    rows += fmt::format(R"({{"idx": {}, "passage": {{"text": "passage {}", "questions": [{{"question": "Q", "answers": [{}]}}]}}}})",
                        p, p, answers) + "\n";
  }
  write(d / "superglue/MultiRC/train.jsonl", rows);
  write(d / "superglue/MultiRC/val.jsonl", rows);
  auto task = tasks::load_task("multirc", kDefs);
  CHECK(task.split_by == "passage");
  for (uint64_t seed : {1, 2, 3}) {
    auto s = tasks::make_splits(task, d.string(), {.seed = seed});
    std::set<std::string> dev_passages;
    for (const auto& e : s.dev) dev_passages.insert(e.fields.at("passage"));
    for (const auto& e : s.test) CHECK(dev_passages.count(e.fields.at("passage")) == 0);
    CHECK(s.dev.size() + s.test.size() == 30);
    CHECK(s.dev.size() >= 15);  // the cut moves to the first passage boundary at or after half
    CHECK(s.protocol.find("examples sharing a passage kept in one split") != std::string::npos);
  }
}
