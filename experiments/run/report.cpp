#include "experiments/run/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/json_file.h"
#include "experiments/run/rational_layers.h"

namespace iapt::run {

namespace fs = std::filesystem;

namespace {

struct Stats {
  double mean = 0, std = 0, median = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(s.std / static_cast<double>(v.size() - 1)) : 0.0;  // sample std
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return s;
}


bool have_gnuplot() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

void gnuplot(const fs::path& script) {
  const int rc = std::system(fmt::format("gnuplot '{}' > '{}.log' 2>&1", script.string(), script.string()).c_str());
  IAPT_CHECK(rc == 0, "report: gnuplot failed on {} (see {}.log)", script.string(), script.string());
}

// Each layer's learned rational and its initialisation, from a run's summary and its config;
// false when the run has no rational activation or its summary no coefficients.
bool rational_plot(const fs::path& run_dir, const fs::path& plots) {
  const auto r = read_run_rationals(run_dir);
  if (!r) return false;
  const std::vector<int> layers = r->layers();
  const std::vector<double> grid = rational_grid();
  std::string data;
  for (int l : layers) {
    for (double x : grid) data += fmt::format("{} {} {}\n", x, r->value(l, x), r->start_value(x));
    data += "\n\n";  // a gnuplot data block per layer
  }
  write_text_atomically(plots / "rationals.dat", data);
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(layers.size()))));
  const int rows = static_cast<int>((layers.size() + cols - 1) / cols);
  std::string script = fmt::format(
      "set terminal pngcairo size {},{} font ',9' noenhanced\nset output '{}'\nset multiplot layout {},{} title 'learned "
      "rational activations ({}) vs initialisation ({})'\nset key top left\n",
      360 * cols, 280 * rows, (plots / "rationals.png").string(), rows, cols,
      fs::relative(run_dir, plots.parent_path()).string(), r->init);
  for (size_t i = 0; i < layers.size(); ++i)
    script += fmt::format("set title 'layer {}'\nplot '{}' index {} using 1:2 with lines lw 2 title 'learned', '' index {} "
                          "using 1:3 with lines dt 2 title 'init'\n",
                          layers[i], (plots / "rationals.dat").string(), i, i);
  script += "unset multiplot\n";
  write_text_atomically(plots / "rationals.gp", script);
  gnuplot(plots / "rationals.gp");
  return true;
}

// Numbers by value (k 1, 2, 4, 16), the rest as text, numbers first.
bool natural_less(const std::string& a, const std::string& b) {
  char* ea = nullptr;
  char* eb = nullptr;
  const double na = std::strtod(a.c_str(), &ea), nb = std::strtod(b.c_str(), &eb);
  const bool num_a = ea && *ea == '\0' && !a.empty(), num_b = eb && *eb == '\0' && !b.empty();
  if (num_a && num_b) return na < nb;
  if (num_a != num_b) return num_a;
  return a < b;
}

// The keys a sweep varied (NAME/sweep.json), each a column of the table.
std::vector<std::string> swept_columns(const fs::path& dir) {
  if (!fs::exists(dir / "sweep.json")) return {};
  const nlohmann::json j = read_json_file(dir / "sweep.json");
  std::vector<std::string> keys = j.value("swept_keys", std::vector<std::string>{});
  for (const auto& k : j.value("selected_keys", std::vector<std::string>{})) keys.push_back(k);
  return keys;
}

// The node at a dotted key of a run's config; an undefined node where the path is absent.
YAML::Node node_at(const YAML::Node& config, const std::string& key) {
  YAML::Node n = config;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) {
    if (!n.IsMap() || !n[part]) return YAML::Node(YAML::NodeType::Undefined);
    n.reset(n[part]);
  }
  return n;
}

// The value at a dotted key of a run's config: a scalar as written, a method by its name; "-" where
// nothing is set (the key is absent, or an empty mapping: the defaults).
std::string config_value(const YAML::Node& config, const std::string& key) {
  const YAML::Node n = node_at(config, key);
  if (!n.IsDefined()) return "-";
  if (n.IsScalar()) return display_scalar(n.Scalar());
  if (n.IsMap() && n["name"]) return n["name"].Scalar();
  if (n.IsMap() && n.size() == 0) return "-";
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// The table's columns from the swept keys: each key's value, except a swept mapping (a `method`
// section), which the table shows by its entries that tell apart configurations of one name
// (soft_tokens, pooler, activation, ...): its name is the method column already.
std::vector<std::string> table_columns(const std::vector<std::string>& swept, const std::vector<YAML::Node>& configs) {
  std::vector<std::string> columns;
  for (const auto& key : swept) {
    std::vector<std::string> entries;
    bool mapping = !configs.empty();
    for (const auto& config : configs) {
      const YAML::Node n = node_at(config, key);
      if (!n.IsDefined() || n.IsNull()) continue;
      if (!n.IsMap()) {
        mapping = false;
        break;
      }
      for (const auto& kv : n)
        if (kv.first.Scalar() != "name" && std::find(entries.begin(), entries.end(), kv.first.Scalar()) == entries.end())
          entries.push_back(kv.first.Scalar());
    }
    if (!mapping) {
      columns.push_back(key);
      continue;
    }
    for (const auto& entry : entries) {
      const std::string sub = key + "." + entry;
      std::map<std::string, std::set<std::string>> values_by_name;
      for (const auto& config : configs) values_by_name[config_value(config, key + ".name")].insert(config_value(config, sub));
      if (std::any_of(values_by_name.begin(), values_by_name.end(), [](const auto& v) { return v.second.size() > 1; }))
        columns.push_back(sub);
    }
  }
  return columns;
}

// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, as a flow
// mapping's value does ("{prefix: normal, prefix_std: 0.02}").
std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// One row averages runs that differ in their seed alone (and in output_dir, where the folder was
// when the run was made: a sweep resumed in a clone elsewhere).
void check_same_config(const std::vector<fs::path>& runs) {
  auto without_seed = [](const fs::path& run) {
    YAML::Node c = config::load_yaml_file((run / "config.yaml").string());
    c.remove("seed");
    c.remove("output_dir");
    YAML::Emitter e;
    e << c;
    return std::string(e.c_str());
  };
  const std::string first = without_seed(runs.front());
  for (size_t i = 1; i < runs.size(); ++i)
    IAPT_CHECK(without_seed(runs[i]) == first,
               "report: {} and {} were made with different configs (not only their seeds): they cannot be one row; "
               "give them different names",
               runs.front().string(), runs[i].string());
}

std::string selection_table(const nlohmann::json& selection) {
  std::string md = "| configuration | candidate | selection runs | dev (mean) | selected |\n|---|---|---:|---:|---|\n";
  for (auto& [label, entry] : selection.items()) {
    for (auto& [candidate, c] : entry["candidates"].items())
      md += fmt::format("| {} | {} | {} | {:.4f} | {} |\n", label, candidate, c["runs"].get<int>(),
                        c["dev_mean"].get<double>(), entry["selected"] == candidate ? "yes" : "");
  }
  return md;
}

// start.md: how far each configuration's start is from the frozen model (diagnostics.jsonl's first
// line), mean and std over its runs.
void write_start_table(const std::vector<ReportRow>& rows, const fs::path& file) {
  std::string md = "| configuration | runs | KL from frozen (mean ± std) | largest logit change (mean ± std) | response loss "
                   "minus frozen (mean ± std) |\n|---|---:|---:|---:|---:|\n";
  bool any = false;
  for (const auto& r : rows) {
    std::vector<double> kl, change, loss;
    for (const auto& run : r.run_dirs) {
      std::ifstream in(fs::path(run) / "diagnostics.jsonl");
      std::string line;
      if (!std::getline(in, line)) continue;
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("start")) continue;
      kl.push_back(j["start"]["kl_from_frozen"]);
      change.push_back(j["start"]["max_logit_change"]);
      loss.push_back(j["start"]["response_loss"].get<double>() - j["start"]["frozen_response_loss"].get<double>());
    }
    if (kl.empty()) continue;
    any = true;
    const Stats a = stats_of(kl), b = stats_of(change), c = stats_of(loss);
    md += fmt::format("| {} | {} | {:.4f} ± {:.4f} | {:.2f} ± {:.2f} | {:+.3f} ± {:.3f} |\n", r.label, kl.size(), a.mean, a.std,
                      b.mean, b.std, c.mean, c.std);
  }
  if (any) write_text_atomically(file, md);
}

// A configuration's diagnostics.jsonl as three panels: gradient norm per parameter group, each
// layer's prefix key norm over the text's (or inserted tokens' norm over the hidden states'), and
// each layer's pooler entropy. Panels without data are left out.
void diagnostics_plot(const fs::path& run, const std::string& title, const fs::path& stem) {
  if (!fs::exists(run / "diagnostics.jsonl")) return;
  std::map<std::string, std::string> grad, ratio, entropy;  // series name -> "step value" lines
  std::ifstream in(run / "diagnostics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("grad_norm")) continue;
    const int64_t step = j["step"].get<int64_t>();
    for (auto& [group, v] : j["grad_norm"].items()) grad[group] += fmt::format("{} {}\n", step, v.get<double>());
    if (!j.contains("forward")) continue;
    const auto& f = j["forward"];
    for (auto& [name, v] : f.items()) {
      const std::string layer = name.substr(0, name.find('.'));
      const std::string what = name.substr(name.find('.') + 1);
      if (what == "pooler_entropy") entropy[layer] += fmt::format("{} {}\n", step, v.get<double>());
      if (what == "prefix_key_norm" && f.contains(layer + ".text_key_norm"))
        ratio[layer + " keys"] += fmt::format("{} {}\n", step, v.get<double>() / f[layer + ".text_key_norm"].get<double>());
      if (what == "inserted_norm" && f.contains(layer + ".text_hidden_norm"))
        ratio[layer + " tokens"] += fmt::format("{} {}\n", step, v.get<double>() / f[layer + ".text_hidden_norm"].get<double>());
    }
  }
  std::vector<std::tuple<std::string, std::string, std::map<std::string, std::string>*>> panels;
  if (!grad.empty()) panels.emplace_back("gradient norm (before clipping)", "set logscale y\n", &grad);
  if (!ratio.empty()) panels.emplace_back("prefix (or inserted) norm / text norm", "unset logscale y\n", &ratio);
  if (!entropy.empty()) panels.emplace_back("pooler attention entropy / log n", "unset logscale y\n", &entropy);
  if (panels.empty()) return;
  std::string data, script = fmt::format("set terminal pngcairo size {},480 font ',9' noenhanced\nset output '{}.png'\n"
                                         "set multiplot layout 1,{} title '{}'\nset key below maxrows 4\nset xlabel 'step'\n",
                                         460 * panels.size(), stem.string(), panels.size(), title);
  int block = 0;
  for (auto& [ylabel, setup, series] : panels) {
    script += setup + fmt::format("set ylabel '{}'\nplot ", ylabel);
    bool first = true;
    for (auto& [name, lines] : *series) {
      data += lines + "\n\n";
      script += fmt::format("{}'{}.dat' index {} using 1:2 with lines title '{}'", first ? "" : ", ", stem.string(),
                            block++, name);
      first = false;
    }
    script += "\n";
  }
  script += "unset multiplot\n";
  write_text_atomically(stem.string() + ".dat", data);
  write_text_atomically(stem.string() + ".gp", script);
  gnuplot(stem.string() + ".gp");
}

}  // namespace

std::string display_scalar(const std::string& scalar) {
  char* end = nullptr;
  const double v = std::strtod(scalar.c_str(), &end);
  return end && *end == '\0' && !scalar.empty() ? fmt::format("{}", v) : scalar;
}

std::vector<ReportRow> write_report(const std::string& dir_str, SweepProgress* progress_out) {
  const fs::path dir(dir_str);
  IAPT_CHECK(fs::is_directory(dir), "report: {} is not a directory", dir_str);
  struct Natural {
    bool operator()(const std::string& a, const std::string& b) const { return natural_less(a, b); }
  };
  std::map<std::string, std::vector<nlohmann::json>, Natural> by_label;
  std::map<std::string, std::vector<fs::path>, Natural> runs_of;
  for (auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename() != "summary.json") continue;
    const fs::path run = entry.path().parent_path();
    const std::string label = fs::relative(run.parent_path(), dir).string();
    by_label[label].push_back(read_json_file(entry.path()));
    runs_of[label].push_back(run);
  }
  SweepProgress progress;  // every summary found, before the selection keeps its candidates' rows
  for (const auto& [label, summaries] : by_label) progress.finished += summaries.size();
  if (fs::exists(dir / "sweep.json")) progress.planned = read_json_file(dir / "sweep.json").value("runs", size_t{0});
  if (progress_out != nullptr) *progress_out = progress;
  if (by_label.empty() && progress.planned > 0) return {};  // a sweep whose first run is still going
  IAPT_CHECK(!by_label.empty(), "report: no summary.json under {}", dir_str);
  const bool selection = fs::exists(dir / "selection.json");
  if (selection) {  // only each configuration's selected candidate makes a row
    const nlohmann::json sel = read_json_file(dir / "selection.json");
    write_text_atomically(dir / "selection.md", selection_table(sel));
    for (auto it = by_label.begin(); it != by_label.end();) {
      const fs::path leaf(it->first);
      const std::string configuration = leaf.parent_path().string(), candidate = leaf.filename().string();
      if (sel.contains(configuration) && sel[configuration]["selected"] == candidate) {
        ++it;
        continue;
      }
      runs_of.erase(it->first);
      it = by_label.erase(it);
    }
    if (by_label.empty() && progress.planned > 0) return {};  // the selection stage is still going
    IAPT_CHECK(!by_label.empty(), "report: {}: no configuration has a selected candidate yet", dir_str);
  }
  std::map<std::string, YAML::Node> first_config;  // each row's, for its columns
  std::vector<YAML::Node> row_configs;
  for (auto& [label, runs] : runs_of) {
    std::sort(runs.begin(), runs.end());  // seed-1 first
    check_same_config(runs);
    first_config[label] = config::load_yaml_file((runs.front() / "config.yaml").string());
    row_configs.push_back(first_config[label]);
  }
  const std::vector<std::string> column_keys = table_columns(swept_columns(dir), row_configs);

  std::vector<ReportRow> rows;
  for (auto& [label, summaries] : by_label) {
    ReportRow r;
    r.label = label == "." ? dir.filename().string() : selection ? fs::path(label).parent_path().string() : label;
    for (const auto& key : column_keys) r.columns.emplace_back(key, config_value(first_config.at(label), key));
    for (const auto& run : runs_of[label]) r.run_dirs.push_back(run.string());
    r.method = summaries[0]["method"];
    r.tunable = summaries[0]["tunable_parameters"];
    r.metric = summaries[0]["dev_metric"];
    r.seeds = static_cast<int>(summaries.size());
    std::vector<double> dev, test, wall;
    for (auto& s : summaries) {
      dev.push_back(s["dev"][r.metric]);
      if (s["test"].contains(r.metric)) test.push_back(s["test"][r.metric]);
      wall.push_back(s["wall_seconds"]);
    }
    Stats d = stats_of(dev), t = stats_of(test), w = stats_of(wall);
    r.dev_mean = d.mean, r.dev_std = d.std, r.dev_median = d.median;
    r.test_mean = t.mean, r.test_std = t.std, r.test_median = t.median;
    r.wall_mean = w.mean;
    const nlohmann::json& majority = summaries[0].value("majority", nlohmann::json());
    if (majority.is_object()) {
      if (majority.contains("dev")) r.majority_dev = majority["dev"].value(r.metric, 0.0);
      if (majority.contains("test")) r.majority_test = majority["test"].value(r.metric, 0.0);
    }
    rows.push_back(r);
  }
  // rows in the order of their swept values (numbers by value), then by label
  std::stable_sort(rows.begin(), rows.end(), [](const ReportRow& a, const ReportRow& b) {
    for (size_t i = 0; i < a.columns.size() && i < b.columns.size(); ++i) {
      if (natural_less(a.columns[i].second, b.columns[i].second)) return true;
      if (natural_less(b.columns[i].second, a.columns[i].second)) return false;
    }
    return natural_less(a.label, b.label);
  });
  std::string header = "| configuration | method |", rule = "|---|---|", csv = "configuration,method,";
  for (auto& [key, value] : rows[0].columns)
    header += fmt::format(" {} |", key), rule += "---:|", csv += csv_field(key) + ",";
  std::string md = header + fmt::format(" tunable parameters | seeds | dev {0} (median) | dev {0} (mean ± std) | test {0} "
                                        "(median) | test {0} (mean ± std) | wall time per run (s) |\n",
                                        rows[0].metric) +
                   rule + "---:|---:|---:|---:|---:|---:|---:|\n";
  csv += "tunable_parameters,seeds,metric,dev_median,dev_mean,dev_std,test_median,test_mean,test_std,wall_seconds_mean\n";
  for (const auto& r : rows) {
    std::string cells, csv_cells;
    for (auto& [key, value] : r.columns) cells += fmt::format(" {} |", value), csv_cells += csv_field(value) + ",";
    md += fmt::format("| {} | {} |{} {} | {} | {:.4f} | {:.4f} ± {:.4f} | {:.4f} | {:.4f} ± {:.4f} | {:.1f} |\n", r.label,
                      r.method, cells, r.tunable, r.seeds, r.dev_median, r.dev_mean, r.dev_std, r.test_median,
                      r.test_mean, r.test_std, r.wall_mean);
    csv += fmt::format("{},{},{}{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", csv_field(r.label),
                       csv_field(r.method), csv_cells, r.tunable, r.seeds, r.metric, r.dev_median, r.dev_mean,
                       r.dev_std, r.test_median, r.test_mean, r.test_std, r.wall_mean);
  }
  if (rows[0].majority_test || rows[0].majority_dev)
    md += fmt::format("\nMajority class (the training split's most frequent response for every example): dev {} {}, "
                      "test {} {}.\n",
                      rows[0].metric, rows[0].majority_dev ? fmt::format("{:.4f}", *rows[0].majority_dev) : "-",
                      rows[0].metric, rows[0].majority_test ? fmt::format("{:.4f}", *rows[0].majority_test) : "-");
  if (progress.finished < progress.planned)
    md += fmt::format("\nA sweep in progress: {} of its {} runs have finished.\n", progress.finished, progress.planned);
  write_text_atomically(dir / "table.md", md);
  write_text_atomically(dir / "table.csv", csv);
  write_start_table(rows, dir / "start.md");

  if (!have_gnuplot()) return rows;
  const fs::path plots = dir / "plots";
  fs::create_directories(plots);
  // learning curves: the training loss of each configuration's first run
  std::string curves = fmt::format("set terminal pngcairo size 900,500 font ',10' noenhanced\nset output '{}'\nset xlabel 'step'\n"
                                   "set ylabel 'training loss'\nset key outside right\nplot ",
                                   (plots / "learning_curves.png").string());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::ifstream in(fs::path(rows[i].run_dirs.front()) / "metrics.jsonl");
    std::string data;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) data += fmt::format("{} {}\n", j["step"].get<int64_t>(), j["loss"].get<double>());
    }
    const fs::path dat = plots / fmt::format("curve_{}.dat", i);
    write_text_atomically(dat, data);
    curves += fmt::format("{}'{}' using 1:2 with lines title '{}'", i ? ", " : "", dat.string(), rows[i].label);
    diagnostics_plot(rows[i].run_dirs.front(), rows[i].label, plots / fmt::format("diagnostics_{}", i));
  }
  write_text_atomically(plots / "learning_curves.gp", curves + "\n");
  gnuplot(plots / "learning_curves.gp");
  // the ablation bars: test metric, mean and std over seeds
  std::string bars;
  for (size_t k = 0; k < rows.size(); ++k)
    bars += fmt::format("{} \"{}\" {} {}\n", k, rows[k].label, rows[k].test_mean, rows[k].test_std);
  write_text_atomically(plots / "ablation.dat", bars);
  write_text_atomically(plots / "ablation.gp",
             fmt::format("set terminal pngcairo size 900,500 font ',10' noenhanced\nset output '{}'\nset style fill solid 0.6\n"
                         "set boxwidth 0.6\nset ylabel 'test {} (mean and std over seeds)'\nset xtics rotate by -30\n"
                         "unset key\nplot '{}' using 1:3:xtic(2) with boxes, '' using 1:3:4 with "
                         "yerrorbars lc rgb 'black' pt 0\n",
                         (plots / "ablation.png").string(), rows[0].metric, (plots / "ablation.dat").string()));
  gnuplot(plots / "ablation.gp");
  // the first run, in row order, of a configuration with rational activations whose summary holds
  // the learned coefficients (runs made before summaries recorded them are passed over)
  [&] {
    for (const auto& r : rows)
      for (const fs::path run : r.run_dirs)
        if (config::load_yaml_file((run / "config.yaml").string())["method"]["name"].Scalar() == "iapt" &&
            rational_plot(run, plots))
          return;
  }();
  return rows;
}

}  // namespace iapt::run
