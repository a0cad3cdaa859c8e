// The command line around runs and sweeps: the sweep's --set on every run and comma multirun, its
// progress lines, the version that made a run, and `params` on the project's own experiment files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/experiments/cli_run.h"

namespace fs = std::filesystem;
using namespace iapt::testing;

TEST_CASE("sweep --set: a field of every run, and key=v1,v2 sweeps the key; each finished run prints its scores",
          "[experiments][run]") {
  fs::path ws = workspace("sweep_set");
  std::ofstream(ws / "one.yaml") << sweep_text(ws, "rates", 12);  // a plain run config: no sweep section
  Result r = run_cli("sweep " + (ws / "one.yaml").string() +
                     " --set training.lr=1e-9,3e-2 --set training.steps=4 --set 'sweep.seeds=[1, 2]'");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path out = ws / "sweeps/rates";
  for (const char* rate : {"1e-9", "3e-2"})
    for (int seed : {1, 2}) {
      const fs::path run = out / rate / fmt::format("seed-{}", seed);
      INFO(run);
      REQUIRE(fs::exists(run / "summary.json"));
      CHECK(read_json(run / "summary.json")["steps"] == 4);
      CHECK(read_text(run.string() + ".yaml").find("lr: " + std::string(rate)) != std::string::npos);
    }
  const auto index = read_json(out / "sweep.json");
  CHECK(index["overrides"] == nlohmann::json({"training.lr=1e-9,3e-2", "training.steps=4", "sweep.seeds=[1, 2]"}));
  CHECK(index["swept_keys"] == nlohmann::json({"training.lr"}));
  CHECK(index["runs"] == 4);
  // "done LABEL seed N [K of 4]: dev accuracy X (step S), test accuracy Y (run folder)"
  for (int k = 1; k <= 4; ++k) CHECK(r.output.find(fmt::format("[{} of 4]: dev accuracy ", k)) != std::string::npos);
  const auto summary = read_json(out / "3e-2/seed-1/summary.json");
  const double dev = summary["dev"]["accuracy"], test = summary["test"]["accuracy"];
  CHECK(r.output.find("done 3e-2 seed 1 [") != std::string::npos);
  CHECK(r.output.find(fmt::format("dev accuracy {:.4f} (step {}), test accuracy {:.4f} ({})", dev,
                                  summary["best_step"].get<int>(), test, (out / "3e-2/seed-1").string())) !=
        std::string::npos);
  // the table's column is the swept key
  CHECK(read_text(out / "table.md").find("| training.lr |") != std::string::npos);

  // a comma inside a list or a quoted string is one value
  std::ofstream(ws / "two.yaml") << sweep_text(ws, "quoted", 2) + "sweep: {seeds: [1]}\n";
  Result quoted = run_cli("sweep " + (ws / "two.yaml").string() + " --dry-run --set 'name=\"a,b\"'");
  INFO(quoted.output);
  CHECK(quoted.exit_code == 0);
  CHECK(quoted.output.find("/sweeps/a,b/default/seed-1") != std::string::npos);
  Result bad = run_cli("sweep " + (ws / "two.yaml").string() + " --dry-run --set training.lr");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("--set training.lr: expected key.path=value") != std::string::npos);
}

TEST_CASE("--version names the version and source revision, and every run's summary records it", "[experiments][run]") {
  Result v = run_cli("--version");
  INFO(v.output);
  CHECK(v.exit_code == 0);
  REQUIRE(v.output.rfind("0.1 (revision ", 0) == 0);
  fs::path ws = workspace("version");
  std::ofstream(ws / "run.yaml") << sweep_text(ws, "versioned", 2);
  Result r = run_cli("run " + (ws / "run.yaml").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string version = v.output.substr(0, v.output.find('\n'));
  CHECK(read_json(ws / "sweeps/versioned/seed-3/summary.json")["iapt"] == version);
}

TEST_CASE("params --config reads params files, experiments and sweeps (a line per configuration)", "[experiments][run]") {
  fs::path ws = workspace("params");
  std::ofstream(ws / "run.yaml") << config_text(ws, "runs");
  Result run = run_cli("params --config " + (ws / "run.yaml").string());
  INFO(run.output);
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("method    iapt\ntunable   804 (") != std::string::npos);
  std::ofstream(ws / "sweep.yaml") << sweep_text(ws, "both", 4) + "sweep:\n  labels: [iapt, lora]\n  zip:\n    method:\n" +
                                          kIaptAndLora;
  Result sweep = run_cli("params --config " + (ws / "sweep.yaml").string());
  INFO(sweep.output);
  CHECK(sweep.exit_code == 0);
  CHECK(sweep.output.find("backbone  ") == 0);
  CHECK(sweep.output.find("iapt                     iapt             tunable 804 (") != std::string::npos);
  CHECK(sweep.output.find("lora                     lora             tunable 448 (") != std::string::npos);
  Result file = run_cli("params --config " + std::string(IAPT_SOURCE_DIR) + "/experiments/configs/params/llama2-7b-iapt.yaml");
  INFO(file.output);
  CHECK(file.exit_code == 0);
  CHECK(file.output.find("method    iapt\ntunable   ") != std::string::npos);
}

TEST_CASE("sweep: an error in a run's config names the line and column of the sweep entry or base field it is in",
          "[experiments][run]") {
  fs::path ws = workspace("sweep_lines");
  auto expect_error = [&](const std::string& yaml, const std::string& message) {
    std::ofstream(ws / "sweep.yaml") << yaml;
    Result r = run_cli("sweep " + (ws / "sweep.yaml").string() + " --dry-run");
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
  };
  const std::string file = (ws / "sweep.yaml").string();
  // lines 1 to 9 are the base; the zip's entries are lines 15 and 16
  const std::string zip = "sweep:\n  seeds: [1]\n  labels: [iapt, lora]\n  zip:\n    method:\n";
  const std::string iapt = "      - {name: iapt, soft_tokens: 2, bottleneck: 6}\n";
  expect_error(sweep_text(ws, "lines", 4) + zip + iapt + "      - {name: lora, rank: 2}\n",
               file + ":16:9 (lora, seed 1): unknown key 'method.rank'");
  expect_error(sweep_text(ws, "lines", 4) + zip + "      - {name: iapt, soft_tokens: -2}\n      - {name: lora}\n",
               file + ":15:35 (iapt, seed 1): method.soft_tokens: expected an integer from 1 to");
  const std::string base = sweep_text(ws, "lines", 0);
  const size_t line_start = base.find("training:");
  expect_error(base + zip + iapt + "      - {name: lora}\n",
               fmt::format("{}:9:{} (iapt, seed 1): training.steps: expected an integer from 1 to", file,
                           base.find("steps: 0") + 8 - line_start));
  Result set = run_cli("sweep " + (ws / "sweep.yaml").string() + " --dry-run --set training.steps=-1");
  INFO(set.output);
  CHECK(set.output.find("--set training.steps=-1: training.steps: expected an integer from 1 to") != std::string::npos);
}
