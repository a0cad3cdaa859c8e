#pragma once
// A task as YAML describes it (experiments/tasks/defs/NAME.yaml): where its official files are,
// which fields to read, the template that makes the instruction, and the label words that are the
// responses. Templates live in YAML, not in code.
#include <string>
#include <utility>
#include <vector>

#include "experiments/tasks/example.h"

namespace iapt::tasks {

struct TaskSpec {
  std::string name;
  std::string format = "tsv";      // tsv, jsonl, multirc or record
  bool header = true;              // tsv
  std::vector<std::string> columns;  // fields to read (tsv without header: by position, "" skips)
  std::string label_field = "label";
  std::vector<std::pair<std::string, std::string>> files;  // split -> path under the data directory
  std::string instruction_template;  // "{sentence}\nThe sentiment of the given sentence is:"
  std::vector<std::pair<std::string, std::string>> labels;  // raw label -> label word (classification)
  std::string positive;             // the label word F1 and MCC count as positive (default: the last)
  bool regression = false;          // the response is the score, formatted with one decimal
  bool free_response = false;       // each example brings its response and candidates (ReCoRD)
  std::vector<std::string> metrics{"accuracy"};
  std::string split_by;             // a field whose equal values stay in one split (MultiRC: passage)
  std::string source;               // the YAML file it came from
};

// Reads a task definition: a path to a YAML file, or a name looked up in `defs_dir`.
TaskSpec load_task(const std::string& name_or_path, const std::string& defs_dir);

// "{field}" placeholders filled from the example's fields; an unknown field is an error naming the
// template's source and the example's.
std::string fill_template(const std::string& tmpl, const Example& e, const std::string& template_source);

// Reads one split's file and makes instructions and responses; a label outside the label words is
// an error naming the row.
std::vector<Example> read_split(const TaskSpec& task, const std::string& data_dir, const std::string& split);

struct SplitOptions {
  uint64_t seed = 1;
  int64_t max_train = 0;             // subsample the training set (0: all of it)
  double carve_train = 0, carve_dev = 0;  // fractions of the official dev set, when train is missing
};

// The paper's protocol: under 10k training examples the official dev set is split in half into dev
// and test; otherwise 1k training examples are held out as dev and the official dev set is test.
// Without a training file, train/dev/test are carved from the dev set when the options say so. A
// task whose files include a labelled "test" split keeps its train, dev and test as they are. With
// split_by, examples sharing that field's value are shuffled and cut as one unit, so no passage is
// in two splits; a cut then falls at the first unit boundary at or after its nominal size.
Splits make_splits(const TaskSpec& task, const std::string& data_dir, const SplitOptions& options);

// A seeded shuffle (Fisher-Yates over Philox numbers): the same on every machine.
template <class T>
void seeded_shuffle(std::vector<T>& v, uint64_t seed);

}  // namespace iapt::tasks

#include "core/rng.h"

namespace iapt::tasks {
template <class T>
void seeded_shuffle(std::vector<T>& v, uint64_t seed) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(philox_uniform_f64(seed, i) * static_cast<double>(i));
    std::swap(v[i - 1], v[std::min(j, i - 1)]);
  }
}
}  // namespace iapt::tasks
