#include "experiments/config/yaml_reader.h"

#include <algorithm>
#include <map>

namespace iapt::config {

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::optional<std::string> did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) best = c, best_d = d;
  }
  return best;
}

namespace {

// yaml-cpp keeps both entries of a duplicated key and answers lookups with the first, so a second
// `steps:` (or a second `training:` block) would be silently ignored: it is an error instead. The
// walk is bounded, since aliases can make a small file a very large tree.
void refuse_duplicate_keys(const YAML::Node& node, const std::string& path, size_t& visited) {
  IAPT_CHECK(++visited <= 1'000'000, "{}: more than a million YAML nodes (aliases expanding?)", path);
  if (node.IsSequence())
    for (const auto& item : node) refuse_duplicate_keys(item, path, visited);
  if (!node.IsMap()) return;
  std::map<std::string, YAML::Mark> seen;
  for (const auto& kv : node) {
    if (kv.first.IsScalar()) {
      const auto [it, fresh] = seen.emplace(kv.first.Scalar(), kv.first.Mark());
      IAPT_CHECK(fresh, "{}:{}:{}: key '{}' appears twice in this mapping (first at line {}); keep one", path,
                 kv.first.Mark().line + 1, kv.first.Mark().column + 1, kv.first.Scalar(), it->second.line + 1);
    }
    refuse_duplicate_keys(kv.second, path, visited);
  }
}

}  // namespace

YAML::Node load_yaml_file(const std::string& path) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    // Every file iapt reads is a mapping of keys; a scalar or list at the top would otherwise meet
    // its first lookup as yaml-cpp's BadSubscript, naming no file.
    IAPT_CHECK(root.IsNull() || root.IsMap(), "{}:{}:{}: expected a mapping of keys at the top level, got a {}", path,
               root.Mark().line + 1, root.Mark().column + 1, root.IsScalar() ? "scalar" : "list");
    size_t visited = 0;
    refuse_duplicate_keys(root, path, visited);
    return root;
  } catch (const YAML::BadFile&) {
    throw Error(fmt::format("{}: cannot open", path));
  } catch (const YAML::ParserException& e) {
    throw Error(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

namespace {

bool contains(const YAML::Node& tree, const YAML::Node& n) {
  if (tree.is(n)) return true;
  if (tree.IsMap())
    for (const auto& kv : tree)
      if (contains(kv.first, n) || contains(kv.second, n)) return true;
  if (tree.IsSequence())
    for (const auto& e : tree)
      if (contains(e, n)) return true;
  return false;
}

}  // namespace

std::optional<std::string> Overrides::origin(const YAML::Node& n) const {
  for (const auto& [value, assignment] : values_)
    if (contains(value, n)) return assignment;
  return std::nullopt;
}

YamlMap::YamlMap(YAML::Node node, std::string file, std::string path, std::shared_ptr<const Overrides> overrides)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), overrides_(std::move(overrides)) {
  if (!node_ || node_.IsNull()) {
    node_ = YAML::Node(YAML::NodeType::Map);
    return;
  }
  IAPT_CHECK(node_.IsMap(), "{}: {}: expected a mapping of keys to values", where(node_), path_.empty() ? "(top level)" : path_);
}

std::string YamlMap::where(const YAML::Node& n) const {
  if (!n) return file_;  // a key not there: the file is all there is to name
  if (overrides_)
    if (auto o = overrides_->origin(n)) return *o;
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return file_;
  return fmt::format("{}:{}:{}", file_, m.line + 1, m.column + 1);
}

bool YamlMap::has(const std::string& key) const {
  read_.insert(key);  // asked for: a known key, for did-you-mean, whether present or not
  YAML::Node v = node_[key];
  return v && !v.IsNull();
}

std::vector<int64_t> YamlMap::int_list(const std::string& key, const std::vector<int64_t>& fallback) {
  if (!has(key)) {
    record(key, fallback);
    return fallback;
  }
  read_.insert(key);
  YAML::Node v = node_[key];
  IAPT_CHECK(v.IsSequence(), "{}: {}: expected a list of integers", where(v), key_path(key));
  std::vector<int64_t> out;
  for (const auto& e : v) {
    try {
      out.push_back(e.as<int64_t>());
    } catch (const std::exception&) {
      throw Error(fmt::format("{}: {}: expected integers, got '{}'", where(e), key_path(key), e.Scalar()));
    }
  }
  record(key, out);
  return out;
}

std::vector<std::string> YamlMap::string_list(const std::string& key, const std::vector<std::string>& fallback) {
  if (!has(key)) {
    record(key, fallback);
    return fallback;
  }
  read_.insert(key);
  YAML::Node v = node_[key];
  IAPT_CHECK(v.IsSequence(), "{}: {}: expected a list of strings", where(v), key_path(key));
  std::vector<std::string> out;
  for (const auto& e : v) {
    IAPT_CHECK(e.IsScalar(), "{}: {}: expected strings", where(e), key_path(key));
    out.push_back(e.Scalar());
  }
  record(key, out);
  return out;
}

YamlMap YamlMap::map(const std::string& key) {
  read_.insert(key);
  YamlMap child(node_[key], file_, key_path(key), overrides_);
  if (recording_) {
    resolved_[key] = YAML::Node(YAML::NodeType::Map);
    child.record_into(resolved_[key]);
  }
  return child;
}

double YamlMap::get_above(const std::string& key, double fallback, double low) {
  const double v = get<double>(key, fallback);
  IAPT_CHECK(v > low, "{}: {}: expected a number above {}, got {}", where(key), key_path(key), low, v);
  return v;
}

std::string YamlMap::choice(const std::string& key, const std::string& fallback,
                            const std::vector<std::string>& allowed) {
  const std::string v = get<std::string>(key, fallback);
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  auto hint = did_you_mean(v, allowed);
  throw Error(fmt::format("{}: {}: '{}' is not one of {}{}", where(node_[key]), key_path(key), v, fmt::join(allowed, ", "),
                          hint ? fmt::format(" (did you mean '{}'?)", *hint) : ""));
}

void YamlMap::finish() const {
  std::vector<std::string> known(read_.begin(), read_.end());
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    if (read_.count(key)) continue;  // every key the reader asked for, present or not, is known
    auto hint = did_you_mean(key, known);
    throw Error(fmt::format("{}: unknown key '{}'{}", where(kv.first), key_path(key),
                            hint ? fmt::format(" (did you mean '{}'?)", *hint) : ""));
  }
}

}  // namespace iapt::config
