#include "experiments/wordnet/wordnet_data.h"

#include <array>
#include <charconv>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "experiments/tasks/task.h"

namespace iapt::wordnet {

namespace fs = std::filesystem;

namespace {

// lexnames(5WN), files 3 to 28: the noun categories, in file-number order.
constexpr std::array<const char*, 26> kNounCategories{
    "Tops",    "act",    "animal",    "artifact", "attribute",  "body",       "cognition", "communication", "event",
    "feeling", "food",   "group",     "location", "motive",     "object",     "person",    "phenomenon",    "plant",
    "possession", "process", "quantity", "relation", "shape", "state", "substance", "time"};
constexpr int kFirstNounFile = 3;

std::string strip_trailing_space(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// "able(a)" -> "able", "hot_dog" -> "hot dog": adjective position markers and underscores dropped.
std::string lemma_text(std::string w) {
  if (!w.empty() && w.back() == ')') {
    const auto open = w.rfind('(');
    if (open != std::string::npos) w.resize(open);
  }
  for (char& c : w)
    if (c == '_') c = ' ';
  return w;
}

}  // namespace

std::string noun_category(int file) {
  IAPT_CHECK(file >= kFirstNounFile && file < kFirstNounFile + static_cast<int>(kNounCategories.size()),
             "lexicographer file {} is not a noun file (3 to 28)", file);
  return kNounCategories[file - kFirstNounFile];
}

std::vector<Synset> read_data_file(const std::string& path) {
  std::ifstream in(path);
  IAPT_CHECK(in.is_open(), "{}: cannot open (install Debian's wordnet-base, or point --wordnet at a WordNet 3.0 dict)",
             path);
  std::vector<Synset> out;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.rfind("  ", 0) == 0 || line.empty()) continue;  // licence header
    const auto bar = line.find(" | ");
    std::istringstream fields(line.substr(0, bar));
    Synset s;
    std::string ss_type, word_count_hex, lex_id;
    fields >> s.offset >> s.lexicographer_file >> ss_type >> word_count_hex;
    IAPT_CHECK(!fields.fail() && !word_count_hex.empty(),
               "{}:{}: expected 'offset lex_filenum ss_type w_cnt word lex_id ...' (wndb(5WN))", path, line_no);
    int64_t words = 0;
    const char* const end = word_count_hex.data() + word_count_hex.size();
    const auto [stop, err] = std::from_chars(word_count_hex.data(), end, words, 16);
    IAPT_CHECK(err == std::errc() && stop == end && words > 0, "{}:{}: word count '{}' is not a positive hexadecimal number",
               path, line_no, word_count_hex);
    for (int64_t i = 0; i < words; ++i) {
      std::string w;
      fields >> w >> lex_id;
      IAPT_CHECK(!fields.fail(), "{}:{}: expected {} words, found {}", path, line_no, words, i);
      s.words.push_back(lemma_text(w));
    }
    if (bar != std::string::npos) s.gloss = strip_trailing_space(line.substr(bar + 3));
    const auto examples = s.gloss.find("; \"");
    s.definition = s.gloss.substr(0, examples);
    out.push_back(std::move(s));
  }
  return out;
}

void build_task(const std::string& wordnet_dir, const std::string& out_dir, const TaskOptions& o) {
  IAPT_CHECK(!o.categories.empty(), "wordnet: no categories given");
  std::map<std::string, int> wanted;  // category -> lexicographer file
  for (const auto& c : o.categories) {
    int file = -1;
    for (size_t i = 0; i < kNounCategories.size(); ++i)
      if (c == kNounCategories[i]) file = kFirstNounFile + static_cast<int>(i);
    IAPT_CHECK(file >= 0, "wordnet: '{}' is not a noun category of lexnames(5WN) (animal, plant, person, food, ...)", c);
    wanted[c] = file;
  }

  const std::vector<Synset> nouns = read_data_file((fs::path(wordnet_dir) / "data.noun").string());
  // Examples are whole synsets, so no synset can fall in two splits.
  std::map<int, std::vector<size_t>> by_file;
  for (size_t i = 0; i < nouns.size(); ++i)
    if (!nouns[i].definition.empty()) by_file[nouns[i].lexicographer_file].push_back(i);

  struct Row {
    size_t synset;
    std::string label;
  };
  std::vector<Row> train, dev, test;
  std::set<size_t> held_out;  // dev and test synsets: kept out of the pretraining corpus
  const int64_t per_category = o.train_per_category + o.dev_per_category + o.test_per_category;
  for (const auto& [category, file] : wanted) {
    std::vector<size_t> ids = by_file[file];
    IAPT_CHECK(static_cast<int64_t>(ids.size()) >= per_category, "wordnet: category {} has {} synsets, {} asked for",
               category, ids.size(), per_category);
    tasks::seeded_shuffle(ids, o.seed + static_cast<uint64_t>(file));
    size_t next = 0;
    for (int64_t i = 0; i < o.test_per_category; ++i) test.push_back({ids[next++], category});
    for (int64_t i = 0; i < o.dev_per_category; ++i) dev.push_back({ids[next++], category});
    for (int64_t i = 0; i < o.train_per_category; ++i) train.push_back({ids[next++], category});
  }
  for (const auto* split : {&dev, &test})
    for (const auto& r : *split) held_out.insert(r.synset);

  fs::create_directories(out_dir);
  auto write_split = [&](std::vector<Row>& rows, const std::string& name, uint64_t seed) {
    tasks::seeded_shuffle(rows, seed);  // categories interleaved
    std::string text = "definition\tlabel\n";
    for (const auto& r : rows) text += fmt::format("{}\t{}\n", nouns[r.synset].definition, r.label);
    write_text_atomically((fs::path(out_dir) / (name + ".tsv")).string(), text);
  };
  write_split(train, "train", o.seed * 3 + 1);
  write_split(dev, "dev", o.seed * 3 + 2);
  write_split(test, "test", o.seed * 3 + 3);

  // Pretraining text: every synset of the four parts of speech but the held-out nouns.
  std::vector<std::string> lines;
  for (const std::string part : {"noun", "verb", "adj", "adv"}) {
    const bool is_noun = part == "noun";
    const std::vector<Synset> synsets = is_noun ? nouns : read_data_file((fs::path(wordnet_dir) / ("data." + part)).string());
    for (size_t i = 0; i < synsets.size(); ++i) {
      if ((is_noun && held_out.count(i)) || synsets[i].gloss.empty()) continue;
      std::string words;
      for (const auto& w : synsets[i].words) words += (words.empty() ? "" : ", ") + w;
      lines.push_back(words + ": " + synsets[i].gloss);
    }
  }
  tasks::seeded_shuffle(lines, o.seed * 3 + 4);
  const size_t n_valid = lines.size() / 50;
  std::string corpus, valid;
  for (size_t i = 0; i < lines.size(); ++i) (i + n_valid < lines.size() ? corpus : valid) += lines[i] + '\n';
  write_text_atomically((fs::path(out_dir) / "corpus.txt").string(), corpus);
  write_text_atomically((fs::path(out_dir) / "valid.txt").string(), valid);

  nlohmann::ordered_json manifest;
  manifest["source"] = fs::absolute(wordnet_dir).string();
  manifest["task"] = "the lexicographer category (lexnames(5WN)) of a noun synset's definition";
  manifest["categories"] = o.categories;
  manifest["seed"] = o.seed;
  manifest["train"] = train.size();
  manifest["dev"] = dev.size();
  manifest["test"] = test.size();
  manifest["corpus_lines"] = lines.size() - n_valid;
  manifest["valid_lines"] = n_valid;
  manifest["held_out_from_corpus"] = "the dev and test synsets";
  write_text_atomically((fs::path(out_dir) / "manifest.json").string(), manifest.dump(2) + "\n");
}

}  // namespace iapt::wordnet
