#include "experiments/run/sweep.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "experiments/config/peft_config.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/fingerprint.h"
#include "experiments/run/json_file.h"
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
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '=' || c == ',') ? c : '_';
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

// `target` as a path relative to `dir`, so that the files that name it stay true in a clone.
std::string relative_to(const fs::path& target, const fs::path& dir) {
  return fs::absolute(target).lexically_normal().lexically_relative(fs::absolute(dir).lexically_normal()).string();
}

}  // namespace

namespace {

// One --set of a sweep: "key=value" sets the key; "key=v1,v2" (a plain value with commas: not a
// quoted string, list or mapping) makes it an entry of sweep.grid, named in sweep.label if the file
// names its label keys.
void apply_sweep_override(YAML::Node root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  IAPT_CHECK(eq != std::string::npos && eq > 0, "--set {}: expected key.path=value", assignment);
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  auto parse = [&](const std::string& v) {
    try {
      return YAML::Load(v);
    } catch (const YAML::Exception& e) {
      throw Error(fmt::format("--set {}: '{}' is not valid YAML: {}", assignment, v, e.msg));
    }
  };
  const bool several = text.find(',') != std::string::npos && text.find_first_of("[{\"'") != 0;
  if (!several) {
    set_path(root, key, parse(text), "--set " + assignment);
    return;
  }
  YAML::Node values(YAML::NodeType::Sequence);
  std::stringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) values.push_back(parse(part));
  YAML::Node sweep = root["sweep"];
  IAPT_CHECK(!sweep || sweep.IsMap(), "--set {}: the file's 'sweep' is not a mapping", assignment);
  sweep["grid"][key] = values;
  if (sweep["label"] && sweep["label"].IsSequence()) {
    bool named = false;
    for (const auto& k : sweep["label"]) named = named || k.Scalar() == key;
    if (!named) sweep["label"].push_back(key);
  }
}

// The node at a dotted key ("method.r"), undefined where there is none; never adds one.
YAML::Node node_at_path(const YAML::Node& root, const std::string& key) {
  YAML::Node n = root;
  std::stringstream parts(key);
  for (std::string part; std::getline(parts, part, '.');) {
    if (!n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& m = n;  // const: a missing key is not created
    if (!m[part]) return YAML::Node(YAML::NodeType::Undefined);
    n.reset(m[part]);
  }
  return n;
}

// Records for each node of `copy` the place of its twin in `original` ("FILE:LINE:COLUMN (RUN)"),
// innermost first, since the first recorded node containing an error's node names its place.
void record_origins(const YAML::Node& original, const YAML::Node& copy, const std::string& file, const std::string& run,
                    config::Overrides& origins) {
  if (!original || !copy) return;
  if (original.IsMap() && copy.IsMap()) {
    for (const auto& kv : original)
      if (kv.first.IsScalar()) record_origins(kv.second, copy[kv.first.Scalar()], file, run, origins);
  } else if (original.IsSequence() && copy.IsSequence()) {
    for (size_t i = 0; i < original.size() && i < copy.size(); ++i) record_origins(original[i], copy[i], file, run, origins);
  }
  const YAML::Mark m = original.Mark();
  if (!m.is_null()) origins.add(copy, fmt::format("{}:{}:{} ({})", file, m.line + 1, m.column + 1, run));
}

}  // namespace

std::vector<SweepRun> expand_sweep(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = config::load_yaml_file(path);
  for (const auto& o : overrides) apply_sweep_override(root, o);
  config::YamlMap top(root, path, "");
  IAPT_CHECK(top.has("sweep"), "{}: no 'sweep' section (run one experiment with iapt run)", path);
  config::YamlMap sweep = top.map("sweep");
  const std::vector<int64_t> seeds = sweep.int_list("seeds", {1});
  IAPT_CHECK(!seeds.empty(), "{}: sweep.seeds: expected at least one seed, got an empty list", sweep.where("seeds"));
  for (int64_t s : seeds)
    IAPT_CHECK(s >= 0, "{}: sweep.seeds: expected seeds of at least 0, got {}", sweep.where("seeds"), s);
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
  // the selection stage: candidates per key (a configuration may bring its own values)
  using Grid = std::vector<std::pair<std::string, std::vector<YAML::Node>>>;
  Grid select_grid;
  std::map<std::string, Grid> select_by_label;
  std::vector<int64_t> select_seeds;
  // a selection made by another sweep: label -> its candidate (no selection stage here)
  std::map<std::string, std::string> reused;
  std::string reused_from, reused_as;
  if (sweep.has("select")) {
    config::YamlMap select = sweep.map("select");
    if (select.has("from")) {
      reused_from = config::config_path(select.require<std::string>("from"), path, "sweep.select.from");
      reused_as = select.get<std::string>("as", "");
      IAPT_CHECK(fs::exists(reused_from), "{}: sweep.select.from: {} does not exist yet (run the sweep that selects first)",
                 path, reused_from);
      const nlohmann::json sel = read_json_file(reused_from);
      for (auto& [label, entry] : sel.items())
        if (entry["selected"].is_string()) reused[label] = entry["selected"].get<std::string>();
      select.finish();
    }
  }
  if (sweep.has("select") && reused_from.empty()) {
    config::YamlMap select = sweep.map("select");
    auto read_grid = [&](const YAML::Node& node, const std::string& where) {
      IAPT_CHECK(node && node.IsMap() && node.size() > 0, "{}: {}: expected a mapping of dotted keys to lists", path, where);
      Grid g;
      for (const auto& kv : node) {
        IAPT_CHECK(kv.second.IsSequence() && kv.second.size() > 0, "{}: {}.{}: expected a non-empty list", path, where,
                   kv.first.Scalar());
        g.emplace_back(kv.first.Scalar(), std::vector<YAML::Node>(kv.second.begin(), kv.second.end()));
      }
      return g;
    };
    select_grid = read_grid(select.raw("grid"), "sweep.select.grid");
    if (YAML::Node by = select.raw("by_label"); by) {
      IAPT_CHECK(by.IsMap(), "{}: sweep.select.by_label: expected a mapping of labels to grids", path);
      for (const auto& kv : by) {
        const std::string where = "sweep.select.by_label." + kv.first.Scalar();
        Grid own = read_grid(kv.second, where);
        for (const auto& entry : own) {
          const std::string& k = entry.first;  // not a structured binding: clang 14 cannot capture one
          IAPT_CHECK(std::any_of(select_grid.begin(), select_grid.end(), [&](auto& g) { return g.first == k; }),
                     "{}: {}: '{}' is not a key of sweep.select.grid", path, where, k);
        }
        select_by_label[kv.first.Scalar()] = own;
      }
    }
    select_seeds = select.int_list("seeds", {seeds.front()});
    for (int64_t s : select_seeds)
      IAPT_CHECK(std::find(seeds.begin(), seeds.end(), s) != seeds.end(),
                 "{}: sweep.select.seeds: seed {} is not one of sweep.seeds", path, s);
    select.finish();
  }
  std::vector<std::string> label_keys = sweep.string_list("label", {});
  const std::vector<std::string> zip_labels = sweep.string_list("labels", {});  // names of the zip's positions
  IAPT_CHECK(zip_labels.empty() || (grid.empty() && zip_labels.size() == zip_len),
             "{}: sweep.labels names the zip's {} positions (and needs no grid)", path, zip_len);
  if (label_keys.empty()) {
    for (auto& [k, v] : grid) label_keys.push_back(k);
    for (auto& [k, v] : zip) label_keys.push_back(k);
  }
  sweep.finish();
  // counted before anything is expanded: a sweep this large is a mistake (or a YAML alias bomb)
  {
    double runs = static_cast<double>(seeds.size()) * static_cast<double>(zip_len);
    for (auto& [k, v] : grid) runs *= static_cast<double>(v.size());
    double candidates = 1;
    for (auto& [k, v] : select_grid) candidates *= static_cast<double>(v.size());
    runs *= candidates;
    IAPT_CHECK(runs <= kMaxSweepRuns, "{}: the sweep expands to {:.0f} runs, more than {}; split it into several sweeps",
               path, runs, kMaxSweepRuns);
  }

  YAML::Node base = YAML::Clone(root);
  base.remove("sweep");
  const fs::path dir = fs::path(path).parent_path();
  for (auto keys : std::vector<std::vector<std::string>>{{"backbone", "path"}, {"backbone", "tokenizer"},
                                                         {"task", "data_dir"}, {"task", "definition"}})
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

  std::vector<std::string> swept_keys, selected_keys;
  for (auto& [k, v] : grid) swept_keys.push_back(k);
  for (auto& [k, v] : zip) swept_keys.push_back(k);
  for (auto& [k, v] : select_grid) selected_keys.push_back(k);
  const fs::path sweep_dir = fs::path(output_dir) / name;
  std::set<std::string> labels_seen;
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
          if (matched) {
            if (!label.empty()) label += '_';
            label += value_label(part);
          }
        }
    label = sanitize(label.empty() ? "default" : label);
    labels_seen.insert(label);
    // the candidates of the selection stage (one empty candidate without it)
    const Grid& own = select_by_label.count(label) ? select_by_label.at(label) : Grid{};
    std::vector<std::vector<std::pair<std::string, YAML::Node>>> candidates{{}};
    if (!reused_from.empty()) {  // "training.lr=3e-3,method.x=y": the other sweep's choice for this label
      const std::string source = reused_as.empty() ? label : reused_as;
      IAPT_CHECK(reused.count(source), "{}: sweep.select.from: {} has no selected candidate for '{}'", path, reused_from,
                 source);
      std::vector<std::pair<std::string, YAML::Node>> chosen;
      std::stringstream parts(reused.at(source));
      for (std::string part; std::getline(parts, part, ',');) {
        const size_t eq = part.find('=');
        IAPT_CHECK(eq != std::string::npos, "{}: {}: candidate '{}' is not key=value", path, reused_from, part);
        chosen.emplace_back(part.substr(0, eq), YAML::Load(part.substr(eq + 1)));
        if (ci == 0 && std::find(selected_keys.begin(), selected_keys.end(), part.substr(0, eq)) == selected_keys.end())
          selected_keys.push_back(part.substr(0, eq));
      }
      candidates = {chosen};
    }
    for (auto& entry : select_grid) {
      const std::string& key = entry.first;  // not structured bindings: clang 14 cannot capture them
      auto& values = entry.second;
      auto it = std::find_if(own.begin(), own.end(), [&](auto& g) { return g.first == key; });
      std::vector<std::vector<std::pair<std::string, YAML::Node>>> next;
      for (auto& c : candidates)
        for (auto& v : it == own.end() ? values : it->second) {
          auto d = c;
          d.emplace_back(key, v);
          next.push_back(d);
        }
      candidates = next;
    }
    for (auto& candidate : candidates) {
      std::string candidate_name;
      for (auto& [k, v] : candidate) candidate_name += (candidate_name.empty() ? "" : ",") + k + "=" + value_label(v);
      candidate_name = sanitize(candidate_name);
      const fs::path leaf = candidate.empty() ? sweep_dir / label : sweep_dir / label / candidate_name;
      for (int64_t seed : seeds) {
        YAML::Node cfg = YAML::Clone(base);
        for (auto& [k, v] : combo) set_path(cfg, k, YAML::Clone(v), fmt::format("{}: sweep key '{}'", path, k));
        for (auto& [k, v] : candidate) set_path(cfg, k, YAML::Clone(v), fmt::format("{}: sweep.select key '{}'", path, k));
        cfg["name"] = fs::relative(leaf, output_dir).string();
        cfg["seed"] = seed;
        cfg["output_dir"] = output_dir;
        SweepRun r;
        r.label = label;
        r.candidate = candidate_name;
        r.selection = !candidate.empty() &&
                      std::find(select_seeds.begin(), select_seeds.end(), seed) != select_seeds.end();
        r.sweep_dir = sweep_dir.string();
        r.swept_keys = swept_keys;
        r.selected_keys = selected_keys;
        r.reused_selection = reused_from;
        r.seed = static_cast<uint64_t>(seed);
        r.config = cfg;
        r.run_dir = (leaf / fmt::format("seed-{}", seed)).string();
        r.config_path = (leaf / fmt::format("seed-{}.yaml", seed)).string();
        // validated now, on a copy whose nodes remember their places in the sweep file: an error
        // names the line of the entry it is in, the sweep's values before the base's
        YAML::Node check = YAML::Clone(cfg);
        const std::string run_name = fmt::format("{}, seed {}", label, seed);
        auto origins = std::make_shared<config::Overrides>();
        for (const auto& o : overrides)  // a value given by --set is named by it
          if (const YAML::Node n = node_at_path(check, o.substr(0, o.find('='))); n) origins->add(n, "--set " + o);
        for (auto& [k, v] : combo) record_origins(v, node_at_path(check, k), path, run_name, *origins);
        if (reused_from.empty())
          for (auto& [k, v] : candidate) record_origins(v, node_at_path(check, k), path, run_name, *origins);
        record_origins(root, check, path, run_name, *origins);
        read_run_config(check, path + " (" + run_name + ")", origins);
        runs.push_back(std::move(r));
      }
    }
  }
  for (auto& [l, g] : select_by_label)
    IAPT_CHECK(labels_seen.count(l), "{}: sweep.select.by_label: '{}' is not a configuration of the sweep", path, l);
  std::set<std::string> dirs;
  for (const auto& r : runs)
    IAPT_CHECK(dirs.insert(r.run_dir).second,
               "{}: two configurations of the sweep are both named '{}'; choose sweep.label keys (or sweep.labels) "
               "that tell them apart",
               path, r.label);
  return runs;
}

std::map<std::string, std::string> select_candidates(const std::vector<SweepRun>& runs) {
  // label -> candidate -> dev scores of its finished selection runs, and how many it has in all
  std::map<std::string, std::vector<std::string>> order;
  std::map<std::string, std::map<std::string, std::vector<double>>> scores;
  std::map<std::string, std::map<std::string, size_t>> expected;
  std::string metric, sweep_dir;
  for (const auto& r : runs) {
    if (!r.selection) continue;
    sweep_dir = r.sweep_dir;
    auto& o = order[r.label];
    if (std::find(o.begin(), o.end(), r.candidate) == o.end()) o.push_back(r.candidate);
    ++expected[r.label][r.candidate];
    const fs::path summary = fs::path(r.run_dir) / "summary.json";
    if (!fs::exists(summary)) continue;
    const nlohmann::json j = read_json_file(summary);
    metric = j.at("dev_metric").get<std::string>();
    scores[r.label][r.candidate].push_back(j.at("dev").at(metric).get<double>());
  }
  std::map<std::string, std::string> chosen;
  if (order.empty()) return chosen;
  nlohmann::json out = nlohmann::json::object();
  for (auto& [label, candidates] : order) {
    nlohmann::json entry{{"metric", metric}, {"candidates", nlohmann::json::object()}};
    bool complete = true;
    double best = -1e300;
    for (const auto& c : candidates) {
      const auto& v = scores[label][c];
      complete = complete && v.size() == expected[label][c];
      if (v.empty()) continue;
      double mean = 0;
      for (double x : v) mean += x / static_cast<double>(v.size());
      entry["candidates"][c] = {{"dev_mean", mean}, {"runs", v.size()}};
      if (v.size() == expected[label][c] && mean > best) best = mean, chosen[label] = c;  // ties: the first listed
    }
    if (!complete) chosen.erase(label);  // not every candidate has finished: nothing is chosen yet
    entry["selected"] = chosen.count(label) ? nlohmann::json(chosen[label]) : nlohmann::json(nullptr);
    out[label] = entry;
  }
  // through a file of this process's own: the array tasks of a sweep on SLURM may write it at once
  const fs::path file = fs::path(sweep_dir) / "selection.json", own = file.string() + fmt::format(".{}", getpid());
  write_text_atomically(own, out.dump(2) + "\n");
  fs::rename(own, file);
  return chosen;
}

std::vector<const SweepRun*> runs_to_make(const std::string& path, const std::vector<const SweepRun*>& runs, bool quiet) {
  std::vector<const SweepRun*> todo;
  for (const SweepRun* rp : runs) {
    const SweepRun& r = *rp;
    fs::create_directories(fs::path(r.config_path).parent_path());
    std::ostringstream text;
    text << r.config << '\n';
    if (fs::exists(fs::path(r.run_dir) / "summary.json")) {
      // a finished run is skipped only if it ran this very config
      std::ifstream in(r.config_path);
      const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // (output_dir aside: a sweep folder moved to another checkout resumes there)
      IAPT_CHECK(config_without_location(before) == config_without_location(text.str()),
                 "{}: the finished run {} was made with another config ({}); remove it or give the sweep another name",
                 path, r.run_dir, r.config_path);
      if (!quiet) fmt::print("skip {}{} seed {} (done)\n", r.label, r.candidate.empty() ? "" : " " + r.candidate, r.seed);
      continue;
    }
    std::ofstream(r.config_path) << text.str();
    todo.push_back(&r);
  }
  return todo;
}

namespace {

// "dev accuracy 0.6250 (step 40), test accuracy 0.5833": a finished run's scores on its task's
// first metric, for the sweep's progress lines.
std::string scores_of(const std::string& run_dir) {
  const nlohmann::json s = read_json_file(fs::path(run_dir) / "summary.json");
  const std::string metric = s.at("dev_metric").get<std::string>();
  std::string out = fmt::format("dev {} {:.4f} (step {})", metric, s.at("dev").value(metric, 0.0),
                                s.value("best_step", int64_t{0}));
  if (s.at("test").contains(metric)) out += fmt::format(", test {} {:.4f}", metric, s.at("test")[metric].get<double>());
  return out;
}

// Runs `todo` with the iapt executable `cli`, `jobs` at a time; returns how many failed.
int execute(const std::vector<const SweepRun*>& todo, int jobs, const std::string& cli) {
  // Runs at once share the cores: each gets its share of OpenMP threads (unless OMP_NUM_THREADS is
  // set), since more threads than cores leave OpenMP's waiting threads spinning against each other.
  std::string threads;
  if (!std::getenv("OMP_NUM_THREADS")) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    threads = fmt::format("OMP_NUM_THREADS={} ", std::max(1u, cores / static_cast<unsigned>(std::max(1, jobs))));
  }
  std::atomic<size_t> next{0};
  std::atomic<int> failed{0};
  size_t ended = 0;
  std::mutex print;
  auto worker = [&] {
    for (size_t i; (i = next++) < todo.size();) {
      const SweepRun& r = *todo[i];
      const std::string log = r.run_dir + ".log";
      const std::string cmd = fmt::format("{}'{}' run '{}' > '{}' 2>&1", threads, cli, r.config_path, log);
      const int rc = std::system(cmd.c_str());
      std::lock_guard<std::mutex> lock(print);
      if (rc != 0) ++failed;
      ++ended;
      fmt::print("{} {}{} seed {} [{} of {}]: {} ({})\n", rc == 0 ? "done" : "FAILED", r.label,
                 r.candidate.empty() ? "" : " " + r.candidate, r.seed, ended, todo.size(),
                 rc == 0 ? scores_of(r.run_dir) : "see its log", rc == 0 ? r.run_dir : log);
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> pool;
  for (int j = 0; j < std::max(1, jobs); ++j) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  return failed;
}

}  // namespace

void SweepFilter::check(const std::vector<SweepRun>& runs, const std::string& path) const {
  std::set<std::string> all_labels;
  std::set<uint64_t> all_seeds;
  for (const auto& r : runs) all_labels.insert(r.label), all_seeds.insert(r.seed);
  for (const auto& l : labels)
    IAPT_CHECK(all_labels.count(l), "{}: --only: '{}' is not a configuration of the sweep (it has: {})", path, l,
               fmt::join(all_labels, ", "));
  for (int64_t s : seeds)
    IAPT_CHECK(s >= 0 && all_seeds.count(static_cast<uint64_t>(s)), "{}: --seeds: {} is not one of sweep.seeds ({})",
               path, s, fmt::join(all_seeds, ", "));
}

bool SweepFilter::includes(const SweepRun& r) const {
  const bool label = labels.empty() || std::find(labels.begin(), labels.end(), r.label) != labels.end();
  // the selection stage is never cut by seed: every later run depends on its choice
  const bool seed = seeds.empty() || r.selection ||
                    std::find(seeds.begin(), seeds.end(), static_cast<int64_t>(r.seed)) != seeds.end();
  return label && seed;
}

bool has_selection_stage(const std::vector<SweepRun>& runs) {
  return !runs.empty() && runs.front().reused_selection.empty() && !runs.front().selected_keys.empty();
}

std::vector<const SweepRun*> first_stage(const std::vector<SweepRun>& runs, const SweepFilter& filter) {
  std::vector<const SweepRun*> stage;
  for (const auto& r : runs)
    if (filter.includes(r) && (r.selection || !has_selection_stage(runs))) stage.push_back(&r);
  return stage;
}

std::vector<const SweepRun*> final_stage(const std::vector<SweepRun>& runs, const SweepFilter& filter,
                                         const std::map<std::string, std::string>& chosen) {
  std::vector<const SweepRun*> stage;
  for (const auto& r : runs) {
    auto it = chosen.find(r.label);
    if (filter.includes(r) && !r.selection && it != chosen.end() && r.candidate == it->second) stage.push_back(&r);
  }
  return stage;
}

size_t planned_runs(const std::vector<SweepRun>& runs) {
  if (!has_selection_stage(runs)) return runs.size();
  std::set<std::pair<std::string, uint64_t>> final_runs;  // one per configuration and seed, whichever is chosen
  size_t selection = 0;
  for (const auto& r : runs) r.selection ? void(++selection) : void(final_runs.insert({r.label, r.seed}));
  return selection + final_runs.size();
}

void write_sweep_index(const std::string& path, const std::vector<SweepRun>& runs,
                       const std::vector<std::string>& overrides) {
  if (runs.empty()) return;
  const fs::path sweep_dir = runs.front().sweep_dir;
  fs::create_directories(sweep_dir);
  write_text_atomically(sweep_dir / "sweep.json", nlohmann::json{{"file", relative_to(path, sweep_dir)},
                                                                 {"overrides", overrides},
                                                                 {"swept_keys", runs.front().swept_keys},
                                                                 {"selected_keys", runs.front().selected_keys},
                                                                 {"runs", planned_runs(runs)}}
                                                          .dump(2) +
                                                      "\n");
  if (runs.front().reused_selection.empty()) return;
  nlohmann::json selection = nlohmann::json::object();  // every configuration has its reused choice
  for (const auto& r : runs)
    selection[r.label] = {{"selected", r.candidate},
                          {"from", relative_to(r.reused_selection, sweep_dir)},
                          {"candidates", nlohmann::json::object()}};
  write_text_atomically(sweep_dir / "selection.json", selection.dump(2) + "\n");
}

int run_sweep(const std::string& path, int jobs, const std::string& cli, const SweepFilter& filter,
              const std::vector<std::string>& overrides) {
  std::vector<SweepRun> runs = expand_sweep(path, overrides);
  if (runs.empty()) return 0;
  filter.check(runs, path);
  write_sweep_index(path, runs, overrides);
  int failed = execute(runs_to_make(path, first_stage(runs, filter)), jobs, cli);
  if (has_selection_stage(runs)) {
    const auto chosen = select_candidates(runs);
    std::set<std::string> waiting;
    for (const auto& r : runs)
      if (filter.includes(r) && !chosen.count(r.label)) waiting.insert(r.label);
    for (const auto& l : waiting) fmt::print("{}: no candidate selected (a selection run failed)\n", l);
    for (const auto& [l, c] : chosen) fmt::print("{}: selected {}\n", l, c);
    failed += execute(runs_to_make(path, final_stage(runs, filter, chosen)), jobs, cli);
  }
  write_report(runs.front().sweep_dir);
  return failed;
}

}  // namespace iapt::run
