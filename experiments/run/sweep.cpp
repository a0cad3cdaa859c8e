#include "experiments/run/sweep.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "experiments/config/peft_config.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/report.h"
#include "experiments/run/run_config.h"

namespace iapt::run {

namespace fs = std::filesystem;

namespace {

std::string value_label(const YAML::Node& v) {
  if (v.IsMap() && v["name"]) return v["name"].Scalar();
  if (v.IsScalar()) return v.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << v;
  return e.c_str();
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  return out;
}

// A path given relative to the sweep file, made absolute so the written configs still find it.
void absolutize(YAML::Node root, const std::vector<std::string>& keys, const fs::path& base) {
  YAML::Node n = root;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    if (!n[keys[i]] || !n[keys[i]].IsMap()) return;
    n.reset(n[keys[i]]);
  }
  if (!n[keys.back()] || !n[keys.back()].IsScalar()) return;
  const std::string v = n[keys.back()].Scalar();
  if (v.empty() || v[0] == '/' || v[0] == '$') return;
  n[keys.back()] = fs::absolute(base / v).lexically_normal().string();
}

}  // namespace

std::vector<SweepRun> expand_sweep(const std::string& path) {
  YAML::Node root = config::load_yaml_file(path);
  config::YamlMap top(root, path, "");
  IAPT_CHECK(top.has("sweep"), "{}: no 'sweep' section (run one experiment with iapt run)", path);
  config::YamlMap sweep = top.map("sweep");
  const std::vector<int64_t> seeds = sweep.int_list("seeds", {1});
  std::vector<std::pair<std::string, std::vector<YAML::Node>>> grid, zip;
  for (const char* kind : {"grid", "zip"}) {
    YAML::Node section = sweep.raw(kind);
    if (!section) continue;
    IAPT_CHECK(section.IsMap(), "{}: sweep.{}: expected a mapping of dotted keys to lists", path, kind);
    for (const auto& kv : section) {
      IAPT_CHECK(kv.second.IsSequence() && kv.second.size() > 0, "{}: sweep.{}.{}: expected a non-empty list", path,
                 kind, kv.first.Scalar());
      std::vector<YAML::Node> values(kv.second.begin(), kv.second.end());
      (std::string(kind) == "grid" ? grid : zip).emplace_back(kv.first.Scalar(), values);
    }
  }
  size_t zip_len = zip.empty() ? 1 : zip.front().second.size();
  for (auto& [k, v] : zip)
    IAPT_CHECK(v.size() == zip_len, "{}: sweep.zip: '{}' has {} values, '{}' has {}", path, k, v.size(),
               zip.front().first, zip_len);
  std::vector<std::string> label_keys = sweep.string_list("label", {});
  const std::vector<std::string> zip_labels = sweep.string_list("labels", {});  // names of the zip's positions
  IAPT_CHECK(zip_labels.empty() || (grid.empty() && zip_labels.size() == zip_len),
             "{}: sweep.labels names the zip's {} positions (and needs no grid)", path, zip_len);
  if (label_keys.empty()) {
    for (auto& [k, v] : grid) label_keys.push_back(k);
    for (auto& [k, v] : zip) label_keys.push_back(k);
  }
  sweep.finish();

  YAML::Node base = YAML::Clone(root);
  base.remove("sweep");
  const fs::path dir = fs::path(path).parent_path();
  for (auto keys : std::vector<std::vector<std::string>>{{"backbone", "path"}, {"backbone", "tokenizer"},
                                                         {"task", "data_dir"}})
    absolutize(base, keys, dir);  // (output_dir stays relative to where the sweep runs)
  const std::string name = base["name"] ? base["name"].Scalar() : fs::path(path).stem().string();
  const std::string output_dir = fs::absolute(config::expand_env(base["output_dir"] ? base["output_dir"].Scalar() : "runs", path))
                                     .lexically_normal()
                                     .string();

  // every combination: the grid's cartesian product times the zip's positions
  std::vector<std::vector<std::pair<std::string, YAML::Node>>> combos{{}};
  for (auto& [key, values] : grid) {
    std::vector<std::vector<std::pair<std::string, YAML::Node>>> next;
    for (auto& c : combos)
      for (auto& v : values) {
        auto d = c;
        d.emplace_back(key, v);
        next.push_back(d);
      }
    combos = next;
  }
  if (!zip.empty()) {
    std::vector<std::vector<std::pair<std::string, YAML::Node>>> next;
    for (auto& c : combos)
      for (size_t i = 0; i < zip_len; ++i) {
        auto d = c;
        for (auto& [key, values] : zip) d.emplace_back(key, values[i]);
        next.push_back(d);
      }
    combos = next;
  }

  std::vector<SweepRun> runs;
  for (size_t ci = 0; ci < combos.size(); ++ci) {
    auto& combo = combos[ci];
    std::string label = zip_labels.empty() ? "" : zip_labels[ci];
    if (zip_labels.empty())
      for (const auto& lk : label_keys)
        for (auto& [k, v] : combo) {
          // a default YAML::Node is a defined null, so whether a key matched is kept apart
          YAML::Node part;
          bool matched = false;
          if (k == lk) {
            part = v;
            matched = true;
          } else if (lk.rfind(k + ".", 0) == 0 && v.IsMap() && v[lk.substr(k.size() + 1)]) {  // method.name of method
            part = v[lk.substr(k.size() + 1)];
            matched = true;
          }
          if (matched) label += (label.empty() ? "" : "_") + value_label(part);
        }
    label = sanitize(label.empty() ? "default" : label);
    for (int64_t seed : seeds) {
      YAML::Node cfg = YAML::Clone(base);
      for (auto& [k, v] : combo) set_path(cfg, k, YAML::Clone(v), fmt::format("{}: sweep key '{}'", path, k));
      cfg["name"] = name + "/" + label;
      cfg["seed"] = seed;
      cfg["output_dir"] = output_dir;
      SweepRun r;
      r.label = label;
      r.seed = static_cast<uint64_t>(seed);
      r.config = cfg;
      r.run_dir = (fs::path(output_dir) / name / label / fmt::format("seed-{}", seed)).string();
      r.config_path = (fs::path(output_dir) / name / label / fmt::format("seed-{}.yaml", seed)).string();
      read_run_config(YAML::Clone(cfg), path + " (" + label + fmt::format(", seed {})", seed));  // validate now
      runs.push_back(std::move(r));
    }
  }
  std::set<std::string> dirs;
  for (const auto& r : runs)
    IAPT_CHECK(dirs.insert(r.run_dir).second,
               "{}: two configurations of the sweep are both named '{}'; choose sweep.label keys (or sweep.labels) "
               "that tell them apart",
               path, r.label);
  return runs;
}

int run_sweep(const std::string& path, int jobs, const std::string& cli) {
  std::vector<SweepRun> runs = expand_sweep(path);
  std::vector<const SweepRun*> todo;
  for (const auto& r : runs) {
    fs::create_directories(fs::path(r.config_path).parent_path());
    std::ostringstream text;
    text << r.config << '\n';
    if (fs::exists(fs::path(r.run_dir) / "summary.json")) {
      // a finished run is skipped only if it ran this very config
      std::ifstream in(r.config_path);
      const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      IAPT_CHECK(before == text.str(), "{}: the finished run {} was made with another config ({}); remove it or give "
                                       "the sweep another name",
                 path, r.run_dir, r.config_path);
      fmt::print("skip {} seed {} (done)\n", r.label, r.seed);
      continue;
    }
    std::ofstream(r.config_path) << text.str();
    todo.push_back(&r);
  }
  // Runs at once share the cores: each gets its share of OpenMP threads (unless OMP_NUM_THREADS is
  // set), since more threads than cores leave OpenMP's waiting threads spinning against each other.
  std::string threads;
  if (!std::getenv("OMP_NUM_THREADS")) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    threads = fmt::format("OMP_NUM_THREADS={} ", std::max(1u, cores / static_cast<unsigned>(std::max(1, jobs))));
  }
  std::atomic<size_t> next{0};
  std::atomic<int> failed{0};
  std::mutex print;
  auto worker = [&] {
    for (size_t i; (i = next++) < todo.size();) {
      const SweepRun& r = *todo[i];
      const std::string log = r.run_dir + ".log";
      const std::string cmd = fmt::format("{}'{}' run '{}' > '{}' 2>&1", threads, cli, r.config_path, log);
      const int rc = std::system(cmd.c_str());
      std::lock_guard<std::mutex> lock(print);
      if (rc != 0) ++failed;
      fmt::print("{} {} seed {} ({})\n", rc == 0 ? "done" : "FAILED", r.label, r.seed, rc == 0 ? r.run_dir : log);
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> pool;
  for (int j = 0; j < std::max(1, jobs); ++j) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (!runs.empty()) write_report(fs::path(runs.front().run_dir).parent_path().parent_path().string());
  return failed;
}

}  // namespace iapt::run
