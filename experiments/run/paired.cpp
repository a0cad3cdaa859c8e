#include "experiments/run/paired.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "experiments/run/json_file.h"

namespace iapt::run {

namespace fs = std::filesystem;

PairedTest sign_flip_test(const std::vector<double>& d) {
  PairedTest t;
  t.n = static_cast<int>(d.size());
  if (d.empty()) return t;
  double sum = 0;
  for (double x : d) {
    sum += x;
    t.wins += x > 0, t.losses += x < 0, t.ties += x == 0;
  }
  t.mean_difference = sum / t.n;
  const double observed = std::abs(sum) - 1e-12 * (1 + std::abs(sum));  // ties with the observed count as extreme
  auto flipped_sum = [&](uint64_t signs) {
    double s = 0;
    for (int i = 0; i < t.n; ++i) s += (signs >> i & 1) ? -d[i] : d[i];
    return std::abs(s);
  };
  if (t.n <= 20) {
    const uint64_t total = uint64_t{1} << t.n;
    uint64_t extreme = 0;
    for (uint64_t signs = 0; signs < total; ++signs) extreme += flipped_sum(signs) >= observed;
    t.p_value = static_cast<double>(extreme) / static_cast<double>(total);
    return t;
  }
  const int draws = 200000;
  // A tie's sign changes no sum, so only the other differences draw theirs (most of the time goes
  // to the generator); each keeps its own counter, so the draws, and p, are those of all n.
  std::vector<int> nonzero;
  for (int i = 0; i < t.n; ++i)
    if (d[i] != 0) nonzero.push_back(i);
  int extreme = 0;
  for (int k = 0; k < draws; ++k) {
    double s = 0;
    for (int i : nonzero) {
      // philox_uniform_f64(12345, counter) < 0.5 exactly when its first word's top bit is clear
      const bool flip = (philox4x32_10(12345, static_cast<uint64_t>(k) * t.n + i).v[0] >> 31) == 0;
      s += flip ? -d[i] : d[i];
    }
    extreme += std::abs(s) >= observed;
  }
  t.p_value = (extreme + 1.0) / (draws + 1.0);  // the observed assignment counts as one draw
  return t;
}

std::map<std::string, fs::path> configuration_runs(const fs::path& sweep, const std::string& label) {
  fs::path leaf = sweep / label;
  if (fs::exists(sweep / "selection.json")) {
    const auto sel = read_json_file(sweep / "selection.json");
    IAPT_CHECK(sel.contains(label) && sel[label]["selected"].is_string(),
               "{}: configuration '{}' has no selected candidate (selection.json)", sweep.string(), label);
    leaf /= sel[label]["selected"].get<std::string>();
  }
  IAPT_CHECK(fs::is_directory(leaf), "{}: no configuration '{}'", sweep.string(), label);
  std::map<std::string, fs::path> out;
  for (auto& e : fs::directory_iterator(leaf))
    if (e.is_directory() && e.path().filename().string().rfind("seed-", 0) == 0 && fs::exists(e.path() / "summary.json"))
      out[e.path().filename().string()] = e.path();
  return out;
}

namespace {

// example id -> 1 if the run's prediction was right, else 0
std::map<std::string, double> correctness(const fs::path& run, const std::string& split) {
  const fs::path file = run / "predictions" / (split + ".jsonl");
  std::ifstream in(file);
  IAPT_CHECK(in.good(), "compare: cannot read {} (runs made before predictions were written lack it)", file.string());
  std::map<std::string, double> out;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    IAPT_CHECK(!j.is_discarded() && j.contains("id") && j.contains("gold") && j.contains("prediction"),
               "compare: {}:{}: expected a JSON object with id, gold and prediction", file.string(), line_no);
    out[j["id"].get<std::string>()] = j["gold"] == j["prediction"] ? 1.0 : 0.0;
  }
  return out;
}

// Where B's runs of each sweep are: the sweeps themselves, or their counterparts in `b_sweep_dirs`.
const std::vector<std::string>& b_dirs(const std::vector<std::string>& sweep_dirs,
                                       const std::vector<std::string>& b_sweep_dirs) {
  IAPT_CHECK(b_sweep_dirs.empty() || b_sweep_dirs.size() == sweep_dirs.size(),
             "compare: {} sweeps but {} folders for B's runs: give one per sweep, in the same order", sweep_dirs.size(),
             b_sweep_dirs.size());
  return b_sweep_dirs.empty() ? sweep_dirs : b_sweep_dirs;
}

}  // namespace

PairedExamples match_examples(const std::vector<std::string>& sweep_dirs, const std::string& label_a,
                              const std::string& label_b, const std::string& split,
                              const std::vector<std::string>& b_sweep_dirs) {
  IAPT_CHECK(split == "dev" || split == "test", "compare: split '{}' (dev or test)", split);
  PairedExamples out;
  const auto& b_sweeps = b_dirs(sweep_dirs, b_sweep_dirs);
  for (size_t i = 0; i < sweep_dirs.size(); ++i) {
    const std::string& dir = sweep_dirs[i];
    const auto a = configuration_runs(dir, label_a), b = configuration_runs(b_sweeps[i], label_b);
    std::map<std::string, double> sum_a, sum_b;  // example id -> correct count over the matched seeds
    int seeds = 0;
    for (auto& [seed, run_a] : a) {
      auto it = b.find(seed);
      if (it == b.end()) continue;
      IAPT_CHECK(read_json_file(run_a / "summary.json").at("dev_metric") == "accuracy",
                 "compare: --unit example needs accuracy as the metric ({})", run_a.string());
      const auto ca = correctness(run_a, split), cb = correctness(it->second, split);
      IAPT_CHECK(ca.size() == cb.size() && (seeds == 0 || ca.size() == sum_a.size()),
                 "compare: {} and {} did not predict the same {} examples", run_a.string(), it->second.string(), split);
      for (auto& [id, v] : ca) {
        IAPT_CHECK(cb.count(id), "compare: example {} is in {} but not in {}", id, run_a.string(), it->second.string());
        sum_a[id] += v, sum_b[id] += cb.at(id);
      }
      ++seeds;
    }
    if (seeds == 0) continue;
    double total_a = 0, total_b = 0;
    for (auto& [id, v] : sum_a) {
      out.differences.push_back((v - sum_b[id]) / seeds);
      total_a += v, total_b += sum_b[id];
    }
    const double n = static_cast<double>(sum_a.size()) * seeds;
    out.sweeps.push_back(fs::path(dir).filename().string());
    out.examples.push_back(static_cast<int>(sum_a.size()));
    out.seeds.push_back(seeds);
    out.a.push_back(total_a / n);
    out.b.push_back(total_b / n);
  }
  return out;
}

PairedRuns match_runs(const std::vector<std::string>& sweep_dirs, const std::string& label_a, const std::string& label_b,
                      const std::string& split, const std::vector<std::string>& b_sweep_dirs) {
  IAPT_CHECK(split == "dev" || split == "test", "compare: split '{}' (dev or test)", split);
  PairedRuns out;
  const auto& b_sweeps = b_dirs(sweep_dirs, b_sweep_dirs);
  for (size_t i = 0; i < sweep_dirs.size(); ++i) {
    const std::string& dir = sweep_dirs[i];
    const auto a = configuration_runs(dir, label_a), b = configuration_runs(b_sweeps[i], label_b);
    for (auto& [seed, run_a] : a) {
      auto it = b.find(seed);
      if (it == b.end()) continue;
      const auto sa = read_json_file(run_a / "summary.json"), sb = read_json_file(it->second / "summary.json");
      const std::string metric = sa.at("dev_metric");
      IAPT_CHECK(sb.at("dev_metric") == metric && sa.value("split_seed", 0) == sb.value("split_seed", 0),
                 "compare: {} and {} do not share a metric and a split seed", run_a.string(), it->second.string());
      IAPT_CHECK(out.metric.empty() || out.metric == metric, "compare: the sweeps' metrics differ ({} and {})", out.metric,
                 metric);
      out.metric = metric;
      out.pairs.push_back(fs::path(dir).filename().string() + "/" + seed);
      out.a.push_back(sa.at(split).at(metric).get<double>());
      out.b.push_back(sb.at(split).at(metric).get<double>());
    }
  }
  return out;
}

}  // namespace iapt::run
