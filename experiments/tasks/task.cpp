#include "experiments/tasks/task.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>

#include "core/error.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/tasks/readers.h"

namespace iapt::tasks {

namespace fs = std::filesystem;

TaskSpec load_task(const std::string& name_or_path, const std::string& defs_dir) {
  std::string path = name_or_path;
  if (!fs::exists(path)) path = (fs::path(defs_dir) / (name_or_path + ".yaml")).string();
  if (!fs::exists(path)) {
    std::vector<std::string> known;
    if (fs::is_directory(defs_dir))
      for (auto& f : fs::directory_iterator(defs_dir))
        if (f.path().extension() == ".yaml") known.push_back(f.path().stem().string());
    auto hint = config::did_you_mean(name_or_path, known);
    throw Error(fmt::format("task '{}': no such task definition in {} (known: {}){}", name_or_path, defs_dir,
                            fmt::join(known, ", "), hint ? fmt::format("; did you mean '{}'?", *hint) : ""));
  }
  config::YamlMap m(config::load_yaml_file(path), path, "");
  TaskSpec t;
  t.source = path;
  t.name = m.require<std::string>("name");
  t.format = m.choice("format", "tsv", {"tsv", "jsonl", "multirc", "record"});
  t.header = m.get<bool>("header", true);
  t.columns = m.string_list("columns", {});
  IAPT_CHECK(!t.columns.empty() || t.format == "multirc" || t.format == "record", "{}: 'columns' lists the fields to read",
             path);
  t.label_field = m.get<std::string>("label_field", "label");
  config::YamlMap files = m.map("files");
  for (const char* split : {"train", "dev", "test"})
    if (files.has(split)) t.files.emplace_back(split, files.require<std::string>(split));
  files.finish();
  t.instruction_template = m.require<std::string>("template");
  t.regression = m.get<bool>("regression", false);
  // ReCoRD's responses are each example's own entities: no label words
  t.free_response = t.format == "record";
  if (!t.regression && !t.free_response) {
    IAPT_CHECK(m.has("labels"), "{}: 'labels' maps each raw label to its label word", path);
    for (const auto& kv : m.raw("labels")) t.labels.emplace_back(kv.first.Scalar(), kv.second.Scalar());
  }
  t.metrics = m.string_list("metrics", {t.regression ? "pearson" : "accuracy"});
  t.split_by = m.get<std::string>("split_by", "");
  t.positive = m.get<std::string>("positive", t.labels.empty() ? "" : t.labels.back().second);
  if (!t.regression && !t.free_response) {
    bool known = false;
    for (auto& [raw, word] : t.labels) known = known || word == t.positive;
    IAPT_CHECK(known, "{}: positive: '{}' is not one of the label words", path, t.positive);
  }
  m.finish();
  return t;
}

std::string fill_template(const std::string& tmpl, const Example& e, const std::string& template_source) {
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      const size_t end = tmpl.find('}', i);
      IAPT_CHECK(end != std::string::npos, "{}: template has an unclosed '{{'", template_source);
      const std::string field = tmpl.substr(i + 1, end - i - 1);
      auto it = e.fields.find(field);
      IAPT_CHECK(it != e.fields.end(), "{}: template field '{{{}}}' is not among the fields read for {}",
                 template_source, field, e.source);
      out += it->second;
      i = end + 1;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

std::vector<Example> read_split(const TaskSpec& t, const std::string& data_dir, const std::string& split) {
  std::string rel;
  for (auto& [s, f] : t.files)
    if (s == split) rel = f;
  IAPT_CHECK(!rel.empty(), "{}: task {} has no '{}' file", t.source, t.name, split);
  const std::string path = (fs::path(data_dir) / rel).string();
  std::vector<Example> rows = t.format == "tsv"     ? read_tsv(path, t.header, t.columns)
                              : t.format == "jsonl" ? read_jsonl(path, t.columns)
                              : t.format == "record" ? read_record(path)
                                                    : read_multirc(path);
  for (auto& e : rows) {
    auto label = e.fields.find(t.label_field);
    IAPT_CHECK(label != e.fields.end(), "{}: label field '{}' is not among the columns read", t.source, t.label_field);
    e.label = label->second;
    e.instruction = fill_template(t.instruction_template, e, t.source);
    if (t.regression) {
      try {
        e.response = fmt::format("{:.1f}", std::stod(e.label));
      } catch (const std::exception&) {
        throw Error(fmt::format("{}: score '{}' is not a number", e.source, e.label));
      }
      continue;
    }
    if (t.free_response) {
      IAPT_CHECK(!e.label.empty(), "{}: no answer: the file has no labels (ReCoRD's test split)", e.source);
      e.response = e.label;
      continue;
    }
    bool found = false;
    for (auto& [raw, word] : t.labels)
      if (raw == e.label) e.response = word, found = true;
    std::vector<std::string> raws;
    for (auto& [raw, word] : t.labels) raws.push_back(raw);
    IAPT_CHECK(found, "{}: label '{}' is not one of {} ({})", e.source, e.label, fmt::join(raws, ", "), t.source);
  }
  return rows;
}

namespace {

// The examples in a seeded order of whole units (equal values of `field`; without a field every
// example is a unit, and the order is seeded_shuffle's), and the count at the end of each unit.
std::vector<Example> shuffle_units(std::vector<Example> v, const std::string& field, uint64_t seed,
                                   std::vector<size_t>& ends) {
  std::vector<std::vector<Example>> units;
  std::map<std::string, size_t> index;
  for (auto& e : v) {
    if (field.empty()) {
      units.push_back({std::move(e)});
      continue;
    }
    auto it = e.fields.find(field);
    IAPT_CHECK(it != e.fields.end(), "{}: split_by field '{}' missing", e.source, field);
    auto [pos, fresh] = index.emplace(it->second, units.size());
    if (fresh) units.emplace_back();
    units[pos->second].push_back(std::move(e));
  }
  seeded_shuffle(units, seed);
  std::vector<Example> out;
  ends.clear();
  for (auto& u : units) {
    for (auto& e : u) out.push_back(std::move(e));
    ends.push_back(out.size());
  }
  return out;
}

size_t cut_at(const std::vector<size_t>& ends, size_t n) {
  auto it = std::lower_bound(ends.begin(), ends.end(), n);
  return it == ends.end() ? (ends.empty() ? 0 : ends.back()) : *it;
}

}  // namespace

Splits make_splits(const TaskSpec& t, const std::string& data_dir, const SplitOptions& o) {
  Splits s;
  bool has_train = false, has_test = false;
  for (auto& [split, f] : t.files) {
    has_train = has_train || (split == "train" && fs::exists(fs::path(data_dir) / f));
    has_test = has_test || split == "test";  // a task that names a test file brings its own labelled split
  }
  std::vector<Example> dev = read_split(t, data_dir, "dev");
  if (has_test) {
    s.train = read_split(t, data_dir, "train");
    s.dev = std::move(dev);
    s.test = read_split(t, data_dir, "test");
    s.protocol = fmt::format("the task's own splits: train {}, dev {}, test {}", s.train.size(), s.dev.size(),
                             s.test.size());
  } else if (!has_train) {
    IAPT_CHECK(o.carve_train > 0 && o.carve_dev > 0 && o.carve_train + o.carve_dev < 1,
               "{}: task {} has no training file in {}; set data.carve_train and data.carve_dev (fractions of the "
               "official dev set) to carve train/dev/test from it",
               t.source, t.name, data_dir);
    std::vector<size_t> ends;
    dev = shuffle_units(std::move(dev), t.split_by, o.seed, ends);
    const size_t n = dev.size(), n_train = cut_at(ends, static_cast<size_t>(o.carve_train * n)),
                 n_dev = cut_at(ends, n_train + static_cast<size_t>(o.carve_dev * n)) - n_train;
    s.train.assign(dev.begin(), dev.begin() + n_train);
    s.dev.assign(dev.begin() + n_train, dev.begin() + n_train + n_dev);
    s.test.assign(dev.begin() + n_train + n_dev, dev.end());
    s.protocol = fmt::format("no training file: the official dev set ({}) shuffled with seed {} and carved into "
                             "train {}, dev {}, test {}",
                             n, o.seed, s.train.size(), s.dev.size(), s.test.size());
  } else {
    std::vector<Example> train = read_split(t, data_dir, "train");
    const size_t n_train = train.size();
    if (n_train < 10000) {
      std::vector<size_t> ends;
      dev = shuffle_units(std::move(dev), t.split_by, o.seed, ends);
      const size_t half = cut_at(ends, dev.size() / 2);
      s.dev.assign(dev.begin(), dev.begin() + half);
      s.test.assign(dev.begin() + half, dev.end());
      s.train = std::move(train);
      s.protocol = fmt::format("train {} (< 10k): the official dev set ({}) shuffled with seed {} and halved into dev "
                               "{} and test {}",
                               n_train, dev.size(), o.seed, s.dev.size(), s.test.size());
    } else {
      std::vector<size_t> ends;
      train = shuffle_units(std::move(train), t.split_by, o.seed, ends);
      const size_t n_dev = cut_at(ends, 1000);
      s.dev.assign(train.begin(), train.begin() + n_dev);
      s.train.assign(train.begin() + n_dev, train.end());
      s.test = std::move(dev);
      s.protocol = fmt::format("train {} (>= 10k): {} held out as dev (seed {}); test: the official dev set ({})",
                               n_train, s.dev.size(), o.seed, s.test.size());
    }
  }
  if (!has_test && !t.split_by.empty())
    s.protocol += fmt::format("; examples sharing a {} kept in one split", t.split_by);
  if (o.max_train > 0 && static_cast<int64_t>(s.train.size()) > o.max_train) {
    seeded_shuffle(s.train, o.seed + 1);
    s.train.resize(o.max_train);
    s.protocol += fmt::format("; training set subsampled to {} (seed {})", o.max_train, o.seed + 1);
  }
  return s;
}

}  // namespace iapt::tasks
