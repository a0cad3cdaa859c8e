#include "experiments/run/rational_layers.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "experiments/config/methods.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/json_file.h"
#include "experiments/run/paired.h"
#include "kernels/rational_math.h"

namespace iapt::run {

namespace fs = std::filesystem;

namespace {

// P(x) / Q(x) of one set of coefficients
double rational_value(const std::vector<double>& a, const std::vector<double>& b, RationalVersion version, double x) {
  const auto r =
      kernels::rational_point(x, a.data(), static_cast<int>(a.size()), b.data(), static_cast<int>(b.size()), version);
  return r.p / r.q;
}

}  // namespace

std::vector<double> rational_grid() {
  std::vector<double> grid(kRationalGridPoints);
  for (int i = 0; i < kRationalGridPoints; ++i)
    grid[i] = kRationalGridLo + (kRationalGridHi - kRationalGridLo) * i / (kRationalGridPoints - 1);
  return grid;
}

std::vector<int> RunRationals::layers() const {
  std::vector<int> out;
  for (auto& [layer, a] : numerator) out.push_back(layer);
  return out;
}

double RunRationals::value(int layer, double x) const {
  return rational_value(numerator.at(layer), denominator.at(layer), version, x);
}

double RunRationals::start_value(double x) const {
  return rational_value(start.numerator, start.denominator, version, x);
}

std::optional<RunRationals> read_run_rationals(const fs::path& run_dir) {
  const std::string file = (run_dir / "config.yaml").string();
  YAML::Node cfg = config::load_yaml_file(file);
  // read as a run reads it: what the config leaves out (all of it, as `activation: {}`) is the default
  const nn::ActivationSpec act = config::read_activation(config::YamlMap(cfg["method"]["activation"], file,
                                                                         "method.activation"));
  if (act.kind != "rational") return std::nullopt;
  // the coefficients as the summary records them (the weights need not be there)
  const nlohmann::json summary = read_json_file(run_dir / "summary.json");
  if (!summary.contains("rational_coefficients")) return std::nullopt;
  RunRationals r;
  r.version = act.rational.version;
  r.deg_num = act.rational.deg_num;
  r.deg_den = act.rational.deg_den;
  r.init = act.rational.init;
  // names such as iapt.layers.3.act.numerator
  for (auto& [name, values] : summary["rational_coefficients"].items()) {
    const size_t at = name.find("layers.");
    IAPT_CHECK(at != std::string::npos, "{}: rational_coefficients: '{}' names no layer",
               (run_dir / "summary.json").string(), name);
    const int layer = std::stoi(name.substr(at + 7));
    auto& into = name.ends_with(".numerator") ? r.numerator : r.denominator;
    into[layer] = values.get<std::vector<double>>();
  }
  if (r.numerator.empty()) return std::nullopt;
  r.start = nn::fit_rational(r.init, r.deg_num, r.deg_den, r.version);
  for (auto& [layer, a] : r.numerator)
    IAPT_CHECK(r.denominator.count(layer) && static_cast<int>(a.size()) == r.deg_num + 1,
               "{}: layer {}'s rational coefficients do not match degrees ({}, {})",
               (run_dir / "summary.json").string(), layer, r.deg_num, r.deg_den);
  return r;
}

namespace {

double rms_distance(const std::vector<double>& f, const std::vector<double>& g) {
  double s = 0;
  for (size_t i = 0; i < f.size(); ++i) s += (f[i] - g[i]) * (f[i] - g[i]);
  return std::sqrt(s / static_cast<double>(f.size()));
}

}  // namespace

LabelShuffleTest layer_label_test(const std::vector<std::vector<std::vector<double>>>& values) {
  const int seeds = static_cast<int>(values.size());
  IAPT_CHECK(seeds >= 2, "layer label test: {} seed(s); at least 2 are needed", seeds);
  const int layers = static_cast<int>(values[0].size());
  IAPT_CHECK(layers >= 2, "layer label test: {} layer(s); at least 2 are needed", layers);
  for (auto& seed : values) {
    IAPT_CHECK(static_cast<int>(seed.size()) == layers, "layer label test: the seeds have different layers");
    for (auto& f : seed) IAPT_CHECK(f.size() == values[0][0].size(), "layer label test: the vectors' sizes differ");
  }
  // The statistic is a constant minus (1/seeds) sum_l |sum_s v(s, label_s(l))|^2: the test compares
  // that sum, from the inner products of every pair of vectors. gram: (seeds*layers) x (seeds*layers).
  const int n = seeds * layers;
  std::vector<double> gram(static_cast<size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const auto& f = values[i / layers][i % layers];
      const auto& g = values[j / layers][j % layers];
      gram[static_cast<size_t>(i) * n + j] = std::inner_product(f.begin(), f.end(), g.begin(), 0.0);
    }
  auto at = [&](int s, int a, int r, int b) { return gram[static_cast<size_t>(s * layers + a) * n + r * layers + b]; };
  // labels[s][l]: which of seed s's vectors is taken as its layer l
  auto agreement = [&](const std::vector<std::vector<int>>& labels) {
    double b = 0;
    for (int l = 0; l < layers; ++l)
      for (int s = 0; s < seeds; ++s)
        for (int r = 0; r < seeds; ++r) b += at(s, labels[s][l], r, labels[r][l]);
    return b;
  };
  std::vector<int> identity(layers);
  std::iota(identity.begin(), identity.end(), 0);
  std::vector<std::vector<int>> labels(seeds, identity);
  const double observed = agreement(labels);
  const double tolerance = 1e-12 * (1 + std::abs(observed));  // ties with the observed count as extreme

  LabelShuffleTest t;
  // Shuffling every seed's labels alike changes no layer's set of vectors, so seed 0 keeps its own.
  double shuffles = 1;
  for (int l = 2; l <= layers; ++l) shuffles *= l;
  shuffles = std::pow(shuffles, seeds - 1);
  long long extreme = 0;
  if (shuffles <= static_cast<double>(kExactShuffles)) {
    std::vector<std::vector<int>> all;  // every permutation of the layers
    std::vector<int> p = identity;
    do all.push_back(p);
    while (std::next_permutation(p.begin(), p.end()));
    std::vector<size_t> digit(seeds, 0);  // an odometer over seeds 1.. of indices into `all`
    for (long long k = 0; k < static_cast<long long>(shuffles); ++k) {
      for (int s = 1; s < seeds; ++s) labels[s] = all[digit[s]];
      extreme += agreement(labels) >= observed - tolerance;
      for (int s = 1; s < seeds && ++digit[s] == all.size(); ++s) digit[s] = 0;
    }
    t.p_value = static_cast<double>(extreme) / shuffles;
    t.shuffles = static_cast<long long>(shuffles);
    t.exact = true;
    return t;
  }
  for (long long k = 0; k < kShuffleDraws; ++k) {
    for (int s = 1; s < seeds; ++s) {
      labels[s] = identity;
      for (int i = layers - 1; i > 0; --i) {  // Fisher-Yates
        const uint64_t counter = (static_cast<uint64_t>(k) * seeds + s) * layers + i;
        const int j = std::min(i, static_cast<int>(philox_uniform_f64(12345, counter) * (i + 1)));
        std::swap(labels[s][i], labels[s][j]);
      }
    }
    extreme += agreement(labels) >= observed - tolerance;
  }
  t.p_value = (extreme + 1.0) / (kShuffleDraws + 1.0);  // the observed labelling counts as one draw
  t.shuffles = kShuffleDraws;
  return t;
}

RationalLayerTest rational_layer_test(const fs::path& sweep_dir, const std::string& label) {
  const std::vector<double> grid = rational_grid();
  std::vector<std::string> seeds;
  std::vector<std::vector<std::vector<double>>> values;  // [seed][layer][grid point]
  std::vector<std::vector<double>> starts;               // [seed][grid point]
  std::vector<int> layers;
  for (auto& [seed, run] : configuration_runs(sweep_dir, label)) {
    const auto r = read_run_rationals(run);
    IAPT_CHECK(r.has_value(), "{}: configuration '{}' has no learned rational activation ({})", sweep_dir.string(),
               label, run.string());
    const std::vector<int> own = r->layers();
    IAPT_CHECK(layers.empty() || own == layers, "{}: {} has other layers than the seeds before it", sweep_dir.string(),
               run.string());
    layers = own;
    auto& per_layer = values.emplace_back();
    for (int layer : layers) {
      auto& f = per_layer.emplace_back();
      for (double x : grid) f.push_back(r->value(layer, x));
    }
    auto& start = starts.emplace_back();
    for (double x : grid) start.push_back(r->start_value(x));
    seeds.push_back(seed);
  }
  IAPT_CHECK(values.size() >= 2, "{}: configuration '{}' has {} finished seed(s); the test needs 2 or more",
             sweep_dir.string(), label, values.size());
  RationalLayerTest t;
  t.seeds = seeds;
  t.layers = layers;
  const size_t n_seeds = values.size(), n_layers = layers.size();
  // [seed][layer]: {the rank of the layer's distance from the start among the seed's layers}. Ranks,
  // not distances, as Friedman's test: one seed whose layer runs far off would decide the sum alone.
  std::vector<std::vector<std::vector<double>>> moved(n_seeds);
  t.from_start.assign(n_layers, 0);
  for (size_t s = 0; s < n_seeds; ++s) {
    std::vector<double> d;
    for (size_t l = 0; l < n_layers; ++l) d.push_back(rms_distance(values[s][l], starts[s]));
    for (size_t l = 0; l < n_layers; ++l) {
      double rank = 1;  // ties share the mean of their ranks
      for (size_t k = 0; k < n_layers; ++k) rank += (d[k] < d[l]) + 0.5 * (k != l && d[k] == d[l]);
      moved[s].push_back({rank});
      t.from_start[l] += d[l] / static_cast<double>(n_seeds);
    }
  }
  double sum = 0;
  int count = 0;
  for (auto& seed : values)
    for (size_t l = 0; l < n_layers; ++l)
      for (size_t k = l + 1; k < n_layers; ++k) sum += rms_distance(seed[l], seed[k]), ++count;
  t.between_layers = count ? sum / count : 0;
  sum = 0, count = 0;
  for (size_t l = 0; l < n_layers; ++l)
    for (size_t s = 0; s < n_seeds; ++s)
      for (size_t r = s + 1; r < n_seeds; ++r) sum += rms_distance(values[s][l], values[r][l]), ++count;
  t.between_seeds = sum / count;
  t.shape = layer_label_test(values);
  t.change = layer_label_test(moved);
  return t;
}

}  // namespace iapt::run
