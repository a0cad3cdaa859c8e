#pragma once
// The main job's data, built from WordNet 3.0 as Debian's wordnet-base installs it
// (/usr/share/wordnet/data.{noun,verb,adj,adv}, wndb(5WN)): a classification task, "which
// lexicographer category does this definition describe?", over a few well-populated noun
// categories (the lexicographer file of a synset is a human label, lexnames(5WN)), and a
// pretraining corpus of every other synset's words and gloss.
#include <cstdint>
#include <string>
#include <vector>

namespace iapt::wordnet {

struct Synset {
  std::string offset;              // byte offset in its data file: unique within the file
  int lexicographer_file = -1;     // lexnames(5WN) number: 5 noun.animal, 13 noun.food, ...
  std::vector<std::string> words;  // lemmas, '_' turned into spaces
  std::string definition;          // the gloss up to its examples
  std::string gloss;               // definition and "examples" as WordNet writes them
};

// Parses one data file; lines that start with two spaces are its licence header. A malformed line
// is an error naming the file and line.
std::vector<Synset> read_data_file(const std::string& path);

// The category name of a lexicographer file number ("animal" for 5), from lexnames(5WN).
std::string noun_category(int lexicographer_file);

struct TaskOptions {
  std::vector<std::string> categories{"animal", "plant", "person", "food"};
  int64_t train_per_category = 500, dev_per_category = 50, test_per_category = 100;
  uint64_t seed = 1;
};

// Writes to out_dir: train.tsv, dev.tsv, test.tsv (columns definition, label; balanced over the
// categories, each synset in one split only), corpus.txt and valid.txt (one synset per line,
// "words: gloss", from all four data files except the dev and test synsets, shuffled; valid.txt
// is its last 2%), and manifest.json (the counts, the seed, the source). Every file is written
// through a temporary file and a rename.
void build_task(const std::string& wordnet_dir, const std::string& out_dir, const TaskOptions& options);

}  // namespace iapt::wordnet
