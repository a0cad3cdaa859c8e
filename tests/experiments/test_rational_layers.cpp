// Whether learned rationals differ by layer: the label-shuffling test on hand-worked cases, and the
// sweep-level test and `iapt rationals` on a sweep folder written here.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "experiments/run/rational_layers.h"
#include "tests/experiments/cli_run.h"

namespace iapt {

using run::layer_label_test;
using Vectors = std::vector<std::vector<std::vector<double>>>;  // [seed][layer][entry]

TEST_CASE("layer label test: hand-worked p-values over every labelling", "[rationals]") {
  // Two seeds, two layers: seed 0 keeps its labels, seed 1 has 2 labellings. Agreement of a
  // labelling: sum over layers of (seed 0's + seed 1's value)^2.
  SECTION("the same layers in both seeds: only the own labelling agrees as much") {
    const auto t = layer_label_test(Vectors{{{0}, {1}}, {{0}, {1}}});  // own 1 + 4 = 5, swapped 1 + 1 = 2
    CHECK(t.exact);
    CHECK(t.shuffles == 2);
    CHECK(t.p_value == Approx(0.5));
  }
  SECTION("the layers swapped in seed 1: every labelling agrees at least as much") {
    const auto t = layer_label_test(Vectors{{{0}, {1}}, {{1}, {0}}});  // own 2, swapped 5
    CHECK(t.p_value == Approx(1.0));
  }
  SECTION("three seeds of three distinct layers: 1 of the 36 labellings") {
    Vectors v(3);
    for (int s = 0; s < 3; ++s)
      for (int l = 0; l < 3; ++l) v[s].push_back({10.0 * l + 0.1 * s, -3.0 * l});
    const auto t = layer_label_test(v);
    CHECK(t.exact);
    CHECK(t.shuffles == 36);
    CHECK(t.p_value == Approx(1.0 / 36));
  }
  SECTION("every vector the same: every labelling ties with the own one") {
    const auto t = layer_label_test(Vectors(3, std::vector<std::vector<double>>(3, {1.0, 2.0})));
    CHECK(t.p_value == Approx(1.0));
  }
  SECTION("refusals") {
    CHECK_THROWS_WITH(layer_label_test(Vectors{{{0}, {1}}}), Catch::Contains("at least 2 are needed"));
    CHECK_THROWS_WITH(layer_label_test(Vectors{{{0}, {1}}, {{0}}}), Catch::Contains("different layers"));
  }
}

TEST_CASE("layer label test: seeded draws where the labellings are too many to count", "[rationals]") {
  // 5 seeds of 6 layers: 720^4 labellings, so draws. Vectors of 8 entries.
  auto vectors = [](bool by_layer) {
    Vectors v(5);
    for (int s = 0; s < 5; ++s)
      for (int l = 0; l < 6; ++l) {
        std::vector<double> f;
        for (int i = 0; i < 8; ++i) {
          const double noise = philox_normal(7, static_cast<uint64_t>((s * 6 + l) * 8 + i));
          f.push_back(by_layer ? std::sin(l + i) + 0.1 * noise : noise);
        }
        v[s].push_back(f);
      }
    return v;
  };
  const auto layered = layer_label_test(vectors(true));
  CHECK_FALSE(layered.exact);
  CHECK(layered.shuffles == run::kShuffleDraws);
  CHECK(layered.p_value == Approx(1.0 / (run::kShuffleDraws + 1)));  // no draw agrees as much
  const auto unrelated = layer_label_test(vectors(false));
  CHECK(unrelated.p_value > 0.05);
  CHECK(layer_label_test(vectors(false)).p_value == unrelated.p_value);  // the draws are seeded
}

namespace {

namespace fs = std::filesystem;

// A sweep folder with one configuration ("act") of `seeds` finished runs: a rational of degrees
// (3, 2), version B, started from GELU, with two layers. Layer 0 keeps the start; layer 1's numerator
// is the start's times `scale` (so it is `scale` times the start function).
fs::path rational_sweep(const std::string& name, int seeds, double scale) {
  const fs::path sweep = testing::workspace(name);
  const nn::RationalFit start = nn::fit_rational("gelu", 3, 2, RationalVersion::B);
  for (int s = 1; s <= seeds; ++s) {
    const fs::path run = sweep / "act" / ("seed-" + std::to_string(s));
    fs::create_directories(run);
    std::ofstream(run / "config.yaml")
        << "method:\n  name: iapt\n  activation: {kind: rational, version: B, degrees: [3, 2], init: gelu}\n";
    std::vector<double> scaled = start.numerator;
    for (double& a : scaled) a *= scale;
    nlohmann::json summary = {{"rational_coefficients",
                               {{"iapt.layers.0.act.numerator", start.numerator},
                                {"iapt.layers.0.act.denominator", start.denominator},
                                {"iapt.layers.1.act.numerator", scaled},
                                {"iapt.layers.1.act.denominator", start.denominator}}}};
    std::ofstream(run / "summary.json") << summary.dump();
  }
  return sweep;
}

}  // namespace

TEST_CASE("rational layer test of a sweep: distances from the start and both label tests", "[rationals]") {
  const fs::path sweep = rational_sweep("rationals_sweep", 3, 2.0);
  const run::RationalLayerTest t = run::rational_layer_test(sweep, "act");
  REQUIRE(t.layers == std::vector<int>{0, 1});
  CHECK(t.seeds == std::vector<std::string>{"seed-1", "seed-2", "seed-3"});
  // layer 1 is 2 f against the start f: its distance is the start's own RMS over the grid
  const nn::RationalFit start = nn::fit_rational("gelu", 3, 2, RationalVersion::B);
  run::RunRationals r;
  r.start = start;
  double sum = 0;
  for (int i = 0; i < run::kRationalGridPoints; ++i) {
    const double x =
        run::kRationalGridLo + (run::kRationalGridHi - run::kRationalGridLo) * i / (run::kRationalGridPoints - 1);
    sum += r.start_value(x) * r.start_value(x);
  }
  const double rms = std::sqrt(sum / run::kRationalGridPoints);
  CHECK(rms > 0.5);
  CHECK(t.from_start[0] == Approx(0).margin(1e-12));
  CHECK(t.from_start[1] == Approx(rms).epsilon(1e-12));
  CHECK(t.between_layers == Approx(rms).epsilon(1e-12));
  CHECK(t.between_seeds == Approx(0).margin(1e-12));
  // 3 seeds of 2 layers: 4 labellings; only the own one puts the two functions apart in every seed
  CHECK(t.shape.exact);
  CHECK(t.shape.shuffles == 4);
  CHECK(t.shape.p_value == Approx(0.25));
  CHECK(t.change.p_value == Approx(0.25));  // layer 1 is the farther in every seed

  const auto out = testing::run_cli("rationals " + sweep.string() + " --config act");
  INFO(out.output);
  REQUIRE(out.exit_code == 0);
  CHECK(out.output.find("the same function per layer p = 0.25 (4 labellings, every one)") != std::string::npos);
  CHECK(out.output.find(fmt::format("| 1 | {:.4f} |", rms)) != std::string::npos);
}

TEST_CASE("rational layer test of a sweep: refusals name the folder", "[rationals]") {
  const fs::path one = rational_sweep("rationals_one_seed", 1, 2.0);
  CHECK_THROWS_WITH(run::rational_layer_test(one, "act"), Catch::Contains("has 1 finished seed(s)"));
  CHECK_THROWS_WITH(run::rational_layer_test(one, "other"), Catch::Contains("no configuration 'other'"));
  const fs::path gelu = rational_sweep("rationals_fixed", 2, 2.0);
  std::ofstream(gelu / "act/seed-2/config.yaml") << "method:\n  name: iapt\n  activation: {kind: gelu}\n";
  CHECK_THROWS_WITH(run::rational_layer_test(gelu, "act"), Catch::Contains("has no learned rational activation"));
  const auto out = testing::run_cli("rationals " + one.string() + " --config act");
  CHECK(out.exit_code != 0);
  CHECK(out.output.find(one.string()) != std::string::npos);
}


TEST_CASE("rational layer test: a run's activation read with the defaults a run fills in", "[rationals]") {
  namespace fs = std::filesystem;
  const fs::path run = testing::workspace("rationals_defaults") / "run";
  fs::create_directories(run);
  const nn::RationalFit start = nn::fit_rational("gelu", 6, 5, RationalVersion::B);
  std::ofstream(run / "summary.json") << nlohmann::json{{"rational_coefficients",
                                                         {{"iapt.layers.0.act.numerator", start.numerator},
                                                          {"iapt.layers.0.act.denominator", start.denominator}}}}
                                             .dump();
  // as a sweep writes a run's config.yaml when the method leaves its activation out
  std::ofstream(run / "config.yaml") << "method: {name: iapt, soft_tokens: 2, activation: {}, start: {}}\n";
  auto r = run::read_run_rationals(run);
  REQUIRE(r.has_value());
  CHECK(r->version == RationalVersion::B);
  CHECK(r->deg_num == 6);
  CHECK(r->deg_den == 5);
  CHECK(r->init == "gelu");
  CHECK(r->value(0, 1.5) == Approx(r->start_value(1.5)).epsilon(1e-12));
  std::ofstream(run / "config.yaml") << "method: {name: iapt}\n";  // no activation key at all
  CHECK(run::read_run_rationals(run).has_value());
  std::ofstream(run / "config.yaml") << "method: {name: iapt, activation: {kind: relu}}\n";
  CHECK_FALSE(run::read_run_rationals(run).has_value());
  std::ofstream(run / "config.yaml") << "method: {name: iapt, activation: {kind: rationl}}\n";
  CHECK_THROWS_WITH(run::read_run_rationals(run), Catch::Contains("config.yaml"));
  std::ofstream(run / "config.yaml") << "method: {name: lora}\n";
  std::ofstream(run / "summary.json") << R"({"rational_coefficients": {}})";
  CHECK_FALSE(run::read_run_rationals(run).has_value());
}

}  // namespace iapt
