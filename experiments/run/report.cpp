#include "experiments/run/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "experiments/config/yaml_reader.h"
#include "kernels/rational_math.h"
#include "nn/rational_fit.h"

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

// Each layer's learned rational and its initialisation, from a run's best weights and its config.
void rational_plot(const fs::path& run_dir, const fs::path& plots) {
  YAML::Node cfg = config::load_yaml_file((run_dir / "config.yaml").string());
  YAML::Node act = cfg["method"]["activation"];
  if (!act || act["kind"].Scalar() != "rational") return;
  const RationalVersion version = nn::parse_rational_version(act["version"].Scalar());
  const int m = act["degrees"][0].as<int>(), n = act["degrees"][1].as<int>();
  const nn::RationalFit init = nn::fit_rational(act["init"].Scalar(), m, n, version);
  auto st = load_safetensors((run_dir / "best" / "adapter.safetensors").string()).tensors;
  std::vector<int> layers;
  for (auto& [name, t] : st)
    if (name.ends_with(".act.numerator")) layers.push_back(std::stoi(name.substr(12, name.find(".act") - 12)));
  std::sort(layers.begin(), layers.end());
  if (layers.empty()) return;
  std::string data;
  for (int l : layers) {
    auto a = st.at(fmt::format("iapt.layers.{}.act.numerator", l)).to_vector();
    auto b = st.at(fmt::format("iapt.layers.{}.act.denominator", l)).to_vector();
    for (int i = 0; i <= 120; ++i) {
      const double x = -3.0 + 6.0 * i / 120;
      auto learned = kernels::rational_point(x, a.data(), m + 1, b.data(), n, version);
      auto start = kernels::rational_point(x, init.numerator.data(), m + 1, init.denominator.data(), n, version);
      data += fmt::format("{} {} {}\n", x, learned.p / learned.q, start.p / start.q);
    }
    data += "\n\n";  // a gnuplot data block per layer
  }
  write_text_atomically(plots / "rationals.dat", data);
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(layers.size()))));
  const int rows = static_cast<int>((layers.size() + cols - 1) / cols);
  std::string script = fmt::format(
      "set terminal pngcairo size {},{} font ',9' noenhanced\nset output '{}'\nset multiplot layout {},{} title 'learned "
      "rational activations ({}) vs initialisation ({})'\nset key top left\n",
      360 * cols, 280 * rows, (plots / "rationals.png").string(), rows, cols, run_dir.parent_path().filename().string(),
      act["init"].Scalar());
  for (size_t i = 0; i < layers.size(); ++i)
    script += fmt::format("set title 'layer {}'\nplot '{}' index {} using 1:2 with lines lw 2 title 'learned', '' index {} "
                          "using 1:3 with lines dt 2 title 'init'\n",
                          layers[i], (plots / "rationals.dat").string(), i, i);
  script += "unset multiplot\n";
  write_text_atomically(plots / "rationals.gp", script);
  gnuplot(plots / "rationals.gp");
}

}  // namespace

std::vector<ReportRow> write_report(const std::string& dir_str) {
  const fs::path dir(dir_str);
  IAPT_CHECK(fs::is_directory(dir), "report: {} is not a directory", dir_str);
  // labels in natural order: numbers by value (k 1, 2, 4, 16), the rest alphabetically
  struct Natural {
    bool operator()(const std::string& a, const std::string& b) const {
      char* ea = nullptr;
      char* eb = nullptr;
      const double na = std::strtod(a.c_str(), &ea), nb = std::strtod(b.c_str(), &eb);
      const bool num_a = ea && *ea == '\0' && !a.empty(), num_b = eb && *eb == '\0' && !b.empty();
      if (num_a && num_b) return na < nb;
      if (num_a != num_b) return num_a;
      return a < b;
    }
  };
  std::map<std::string, std::vector<nlohmann::json>, Natural> by_label;
  std::map<std::string, std::vector<fs::path>, Natural> runs_of;
  for (auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename() != "summary.json") continue;
    std::ifstream in(entry.path());
    const fs::path run = entry.path().parent_path();
    const std::string label = fs::relative(run.parent_path(), dir).string();
    by_label[label].push_back(nlohmann::json::parse(in));
    runs_of[label].push_back(run);
  }
  for (auto& [label, runs] : runs_of) std::sort(runs.begin(), runs.end());  // seed-1 first
  IAPT_CHECK(!by_label.empty(), "report: no summary.json under {}", dir_str);

  std::vector<ReportRow> rows;
  for (auto& [label, summaries] : by_label) {
    ReportRow r;
    r.label = label == "." ? dir.filename().string() : label;
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
    rows.push_back(r);
  }
  std::string md = fmt::format("| configuration | method | tunable parameters | seeds | dev {0} (median) | dev {0} (mean ± std) "
                               "| test {0} (median) | test {0} (mean ± std) | wall time per run (s) |\n"
                               "|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
                               rows[0].metric);
  std::string csv = "configuration,method,tunable_parameters,seeds,metric,dev_median,dev_mean,dev_std,test_median,test_mean,"
                    "test_std,wall_seconds_mean\n";
  for (const auto& r : rows) {
    md += fmt::format("| {} | {} | {} | {} | {:.4f} | {:.4f} ± {:.4f} | {:.4f} | {:.4f} ± {:.4f} | {:.1f} |\n", r.label,
                      r.method, r.tunable, r.seeds, r.dev_median, r.dev_mean, r.dev_std, r.test_median, r.test_mean,
                      r.test_std, r.wall_mean);
    csv += fmt::format("{},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", r.label, r.method, r.tunable,
                       r.seeds, r.metric, r.dev_median, r.dev_mean, r.dev_std, r.test_median, r.test_mean, r.test_std,
                       r.wall_mean);
  }
  write_text_atomically(dir / "table.md", md);
  write_text_atomically(dir / "table.csv", csv);

  if (!have_gnuplot()) return rows;
  const fs::path plots = dir / "plots";
  fs::create_directories(plots);
  // learning curves: the training loss of each configuration's first run
  std::string curves = fmt::format("set terminal pngcairo size 900,500 font ',10' noenhanced\nset output '{}'\nset xlabel 'step'\n"
                                   "set ylabel 'training loss'\nset key outside right\nplot ",
                                   (plots / "learning_curves.png").string());
  size_t i = 0;
  for (auto& [label, runs] : runs_of) {
    std::ifstream in(runs.front() / "metrics.jsonl");
    std::string data;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) data += fmt::format("{} {}\n", j["step"].get<int64_t>(), j["loss"].get<double>());
    }
    const fs::path dat = plots / fmt::format("curve_{}.dat", i);
    write_text_atomically(dat, data);
    curves += fmt::format("{}'{}' using 1:2 with lines title '{}'", i ? ", " : "", dat.string(), rows[i].label);
    ++i;
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
  for (auto& [label, runs] : runs_of) {  // the first configuration with rational activations
    YAML::Node cfg = config::load_yaml_file((runs.front() / "config.yaml").string());
    if (cfg["method"]["name"].Scalar() == "iapt" && cfg["method"]["activation"]["kind"].Scalar() == "rational") {
      rational_plot(runs.front(), plots);
      break;
    }
  }
  return rows;
}

}  // namespace iapt::run
