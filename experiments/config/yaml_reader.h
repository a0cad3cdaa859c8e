#pragma once
// Reading a YAML mapping with validation: every error names the file, the line and column, the key
// path and what was expected; keys nobody read are errors too, with a did-you-mean.
#include <cstdint>
#include <fmt/format.h>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "core/error.h"

namespace iapt::config {

// Bounds on what configs and command-line options may ask for: far above any real use, far below
// where step, example or element arithmetic could overflow.
inline constexpr int64_t kMaxCount = int64_t{1} << 40;  // steps, intervals, tokens to generate
inline constexpr int64_t kMaxSize = int64_t{1} << 20;   // batch sizes, ranks, bottlenecks, widths

// Values given on the command line (`--set key.path=value`) and merged into a file's tree: an error
// in one names the --set, not a line of the file (their nodes carry the marks of their own text).
class Overrides {
 public:
  void add(YAML::Node value, std::string assignment) { values_.emplace_back(std::move(value), std::move(assignment)); }
  // "--set key.path=value" when `n` is a given value or part of one.
  std::optional<std::string> origin(const YAML::Node& n) const;

 private:
  std::vector<std::pair<YAML::Node, std::string>> values_;
};

class YamlMap {
 public:
  // `node` must be a mapping (or null, read as empty); `path` is its dotted key path ("" for the root).
  YamlMap(YAML::Node node, std::string file, std::string path, std::shared_ptr<const Overrides> overrides = nullptr);

  bool has(const std::string& key) const;
  template <class T>
  T get(const std::string& key, const T& fallback);
  template <class T>
  T require(const std::string& key);
  // A number from `low` to `high`; outside, an error naming the place, the key and the range.
  template <class T>
  T get_in(const std::string& key, const T& fallback, T low, T high = std::numeric_limits<T>::max());
  // A number above `low` (learning rates, standard deviations).
  double get_above(const std::string& key, double fallback, double low);
  std::vector<int64_t> int_list(const std::string& key, const std::vector<int64_t>& fallback);
  std::vector<std::string> string_list(const std::string& key, const std::vector<std::string>& fallback);
  YamlMap map(const std::string& key);  // a nested mapping (empty when absent)
  // The node under `key` as it is, for values whose keys are data rather than schema (label maps).
  YAML::Node raw(const std::string& key) {
    read_.insert(key);
    if (node_[key]) record(key, YAML::Clone(node_[key]));
    return node_[key];
  }
  // Whether the value under `key` is a single scalar (as opposed to a mapping or a list).
  bool is_scalar(const std::string& key) const { return has(key) && node_[key].IsScalar(); }
  // A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed);

  // Throws on the first key that was never read.
  void finish() const;

  // From now on, every key read goes into `into` (a mapping) with the value it took, its default
  // where it is absent: the section as it was understood, defaults filled in. A nested map()
  // records under its key.
  void record_into(YAML::Node into) {
    resolved_.reset(into);
    recording_ = true;
  }

  std::string where(const YAML::Node& n) const;  // "file:line:column", or the --set that gave it
  std::string where(const std::string& key) const { return where(node_[key]); }
  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  YAML::Node node_;
  std::string file_, path_;
  std::shared_ptr<const Overrides> overrides_;
  mutable std::set<std::string> read_;  // keys asked for (present or not)
  YAML::Node resolved_;
  bool recording_ = false;
  template <class T>
  void record(const std::string& key, const T& value) {
    if (recording_) resolved_[key] = value;
  }
};

// The closest of `candidates` to `word`, if it is close (a typo).
std::optional<std::string> did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// Reads a file whose top level is a mapping (or empty); a syntax error names the file, line and column.
YAML::Node load_yaml_file(const std::string& path);

template <class T>
const char* yaml_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "a boolean";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else return "a string";
}

template <class T>
T YamlMap::get(const std::string& key, const T& fallback) {
  if (!has(key)) {
    record(key, fallback);
    return fallback;
  }
  return require<T>(key);
}

template <class T>
T YamlMap::require(const std::string& key) {
  read_.insert(key);
  YAML::Node v = node_[key];
  IAPT_CHECK(v && !v.IsNull(), "{}: missing required key '{}'", where(node_), key_path(key));
  try {
    IAPT_CHECK(v.IsScalar(), "");
    const T value = v.as<T>();
    record(key, value);
    return value;
  } catch (const std::exception&) {
    throw Error(fmt::format("{}: {}: expected {}, got {}", where(v), key_path(key), yaml_type_name<T>(),
                            v.IsScalar() ? "'" + v.Scalar() + "'" : std::string("a ") + (v.IsMap() ? "mapping" : "list")));
  }
}

template <class T>
T YamlMap::get_in(const std::string& key, const T& fallback, T low, T high) {
  const T v = get<T>(key, fallback);
  if (v >= low && v <= high) return v;
  const std::string range = high == std::numeric_limits<T>::max() ? fmt::format("of at least {}", low)
                                                                  : fmt::format("from {} to {}", low, high);
  throw Error(fmt::format("{}: {}: expected {} {}, got {}", where(key), key_path(key), yaml_type_name<T>(), range, v));
}

}  // namespace iapt::config
