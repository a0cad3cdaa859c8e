// The main job's data builder on a small dictionary in WordNet's data-file format, written here:
// balanced splits, each synset in one split, the dev and test synsets kept out of the corpus, and
// a malformed line named by file and line.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "experiments/tasks/task.h"
#include "experiments/wordnet/wordnet_data.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("iapt_wordnet_{}_{}", name, static_cast<long>(getpid()));
  fs::remove_all(d);
  fs::create_directories(d / "dict");
  return d;
}

// One wndb(5WN) line: offset, lexicographer file, type, word count (hex), words, no pointers.
std::string synset_line(int offset, int file, char type, const std::vector<std::string>& words, const std::string& gloss) {
  std::string line = fmt::format("{:08d} {:02d} {} {:02x}", offset, file, type, words.size());
  for (const auto& w : words) line += " " + w + " 0";
  return line + " 000 | " + gloss + "  \n";
}

// 12 animals (file 5), 12 plants (20), 3 foods (13), a verb and an adjective.
void write_dict(const fs::path& dict) {
  std::string noun = "  1 This software and database is being provided ...\n  2 licence header\n";
  for (int i = 0; i < 12; ++i) {
    noun += synset_line(100 + i, 5, 'n', {fmt::format("beast_{}", i)}, fmt::format("an animal numbered {}; \"beast {} ran\"", i, i));
    noun += synset_line(200 + i, 20, 'n', {fmt::format("herb_{}", i)}, fmt::format("a plant numbered {}", i));
  }
  for (int i = 0; i < 3; ++i) noun += synset_line(300 + i, 13, 'n', {fmt::format("dish_{}", i)}, "a food");
  std::ofstream(dict / "data.noun") << noun;
  std::ofstream(dict / "data.verb") << synset_line(400, 29, 'v', {"run"}, "move fast");
  std::ofstream(dict / "data.adj") << synset_line(500, 0, 'a', {"able(a)"}, "having the skill");
  std::ofstream(dict / "data.adv") << "";
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("wordnet: data lines parse into words, definition and examples", "[experiments][wordnet]") {
  fs::path ws = scratch("parse");
  write_dict(ws / "dict");
  auto nouns = wordnet::read_data_file((ws / "dict/data.noun").string());
  REQUIRE(nouns.size() == 27);
  CHECK(nouns[0].lexicographer_file == 5);
  CHECK(nouns[0].words == std::vector<std::string>{"beast 0"});
  CHECK(nouns[0].definition == "an animal numbered 0");
  CHECK(nouns[0].gloss == "an animal numbered 0; \"beast 0 ran\"");
  CHECK(wordnet::noun_category(5) == "animal");
  CHECK(wordnet::noun_category(20) == "plant");
  CHECK(wordnet::read_data_file((ws / "dict/data.adj").string())[0].words == std::vector<std::string>{"able"});

  std::ofstream(ws / "dict/data.noun", std::ios::app) << "00000999 05 n 03 only_one 0\n";
  CHECK_THROWS_WITH(wordnet::read_data_file((ws / "dict/data.noun").string()),
                    Catch::Contains("data.noun:30: expected 3 words, found 1"));
  std::ofstream(ws / "dict/data.adj", std::ios::app) << "00000998 00 a zz able 0\n";
  CHECK_THROWS_WITH(wordnet::read_data_file((ws / "dict/data.adj").string()),
                    Catch::Contains("data.adj:") && Catch::Contains("word count 'zz' is not a positive hexadecimal number"));
}

TEST_CASE("wordnet: the category task is balanced, synset-disjoint, and its dev and test stay out of the corpus",
          "[experiments][wordnet]") {
  fs::path ws = scratch("task");
  write_dict(ws / "dict");
  wordnet::TaskOptions o;
  o.categories = {"animal", "plant"};
  o.train_per_category = 6;
  o.dev_per_category = 2;
  o.test_per_category = 3;
  wordnet::build_task((ws / "dict").string(), (ws / "out").string(), o);

  std::map<std::string, std::map<std::string, int>> counts;  // split -> label -> rows
  std::set<std::string> seen, held_out;
  for (const char* split : {"train", "dev", "test"}) {
    auto rows = lines_of(ws / "out" / (std::string(split) + ".tsv"));
    REQUIRE(rows.front() == "definition\tlabel");
    for (size_t i = 1; i < rows.size(); ++i) {
      const auto tab = rows[i].find('\t');
      const std::string def = rows[i].substr(0, tab), label = rows[i].substr(tab + 1);
      CHECK(def.find(label) != std::string::npos);  // "an animal numbered 3" is an animal
      CHECK(seen.insert(def).second);               // no synset in two splits
      ++counts[split][label];
      if (std::string(split) != "train") held_out.insert(def);
    }
  }
  // the held-out synsets' glosses ("words: definition[; examples]") are not in the pretraining text
  std::set<std::string> corpus_definitions;
  for (const char* file : {"corpus.txt", "valid.txt"})
    for (const auto& l : lines_of(ws / "out" / file)) {
      const std::string gloss = l.substr(l.find(": ") + 2);
      corpus_definitions.insert(gloss.substr(0, gloss.find("; \"")));
    }
  for (const auto& def : held_out) CHECK(corpus_definitions.count(def) == 0);
  CHECK(corpus_definitions.count("a plant numbered 0") + corpus_definitions.count("a plant numbered 1") +
            held_out.count("a plant numbered 0") + held_out.count("a plant numbered 1") == 2);
  CHECK(counts["train"] == std::map<std::string, int>{{"animal", 6}, {"plant", 6}});
  CHECK(counts["dev"] == std::map<std::string, int>{{"animal", 2}, {"plant", 2}});
  CHECK(counts["test"] == std::map<std::string, int>{{"animal", 3}, {"plant", 3}});
  // corpus + valid: every synset of the four files but the 10 held out (27 nouns, a verb, an adjective)
  CHECK(lines_of(ws / "out/corpus.txt").size() + lines_of(ws / "out/valid.txt").size() == 27 + 2 - 10);
  std::ifstream m(ws / "out/manifest.json");
  auto manifest = nlohmann::json::parse(m);
  CHECK(manifest["test"] == 6);

  // The same seed writes the same files; the task definition reads them as its own splits.
  wordnet::build_task((ws / "dict").string(), (ws / "again").string(), o);
  CHECK(lines_of(ws / "out/train.tsv") == lines_of(ws / "again/train.tsv"));
  tasks::TaskSpec task = tasks::load_task("wordnet", IAPT_SOURCE_DIR "/experiments/tasks/defs");
  tasks::Splits s = tasks::make_splits(task, (ws / "out").string(), {});
  CHECK(s.train.size() == 12);
  CHECK(s.dev.size() == 4);
  CHECK(s.test.size() == 6);
  CHECK(s.protocol.find("the task's own splits") != std::string::npos);
  CHECK(s.test[0].instruction.rfind("Definition: ", 0) == 0);

  o.categories = {"food"};
  o.train_per_category = 3;
  CHECK_THROWS_WITH(wordnet::build_task((ws / "dict").string(), (ws / "few").string(), o),
                    Catch::Contains("category food has 3 synsets, 8 asked for"));
  o.categories = {"animals"};
  CHECK_THROWS_WITH(wordnet::build_task((ws / "dict").string(), (ws / "few").string(), o),
                    Catch::Contains("'animals' is not a noun category"));
}
