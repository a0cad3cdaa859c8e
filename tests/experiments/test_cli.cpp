// The command line around runs and sweeps: the sweep's --set on every run and comma multirun, its
// progress lines, the version that made a run, `params` on the project's own experiment files, and
// a trained run's method in generate, score and eval (--adapter; eval on another task).
#include <algorithm>
#include <csignal>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/experiments/cli_run.h"

namespace fs = std::filesystem;
using namespace iapt::testing;

TEST_CASE("sweep --set: a field of every run, and key=v1,v2 sweeps the key, and each finished run prints its scores",
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
  expect_refused(run_cli("sweep " + (ws / "two.yaml").string() + " --dry-run --set training.lr"),
                 "--set training.lr: expected key.path=value");
}

TEST_CASE("version: --version names the version and source revision, and every run's summary records it", "[experiments][run]") {
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
    expect_refused(run_cli("sweep " + (ws / "sweep.yaml").string() + " --dry-run"), message);
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

TEST_CASE("adapter: --adapter makes generate and score use a trained run's method, and eval takes it to another task",
          "[experiments][run]") {
  fs::path ws = workspace("adapter");
  std::ofstream(ws / "run.yaml") << config_text(ws, "runs");
  Result trained = run_cli("run " + (ws / "run.yaml").string());
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  const fs::path run = ws / "runs/tiny-sst2/seed-3";
  // a model folder with its tokenizer, for the backbone alone
  const std::string fx = IAPT_FIXTURE_DIR;
  fs::create_directories(ws / "model");
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(fx + "/llama-gqa/" + f, ws / "model" / f);
  fs::copy_file(fx + "/tiny-tokenizer/tokenizer.model", ws / "model/tokenizer.model");
  std::ofstream(ws / "pairs.jsonl") << "{\"context\": \"the film was\", \"continuation\": \" good\"}\n"
                                       "{\"context\": \"the plot was dull and the cast\", \"continuation\": \" was bad\"}\n"
                                       "{\"context\": \"the music\", \"continuation\": \" was great\"}\n";
  auto logprobs = [&](const std::string& options) {
    Result r = run_cli("score --input " + (ws / "pairs.jsonl").string() + " " + options);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::vector<double> out;
    std::stringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line)["logprob"]);
    REQUIRE(out.size() == 3);
    return out;
  };
  const auto alone = logprobs("--model " + (ws / "model").string());
  const auto tuned = logprobs("--adapter " + run.string());  // the run's own backbone and tokenizer
  const auto tuned_here = logprobs("--model " + (ws / "model").string() + " --adapter " + (run / "best").string());
  const auto one_by_one = logprobs("--adapter " + run.string() + " --batch-size 1");
  double moved = 0;
  for (size_t i = 0; i < 3; ++i) {
    INFO("pair " << i);
    moved = std::max(moved, std::abs(tuned[i] - alone[i]));
    CHECK(tuned_here[i] == Approx(tuned[i]).epsilon(1e-9));
    CHECK(std::abs(one_by_one[i] - tuned[i]) <= 1e-6 * (1 + std::abs(tuned[i])));
  }
  CHECK(moved > 1e-3);  // the method's prefixes change what the model predicts
  Result generated = run_cli("generate --adapter " + run.string() + " --prompt 'the film was' --max-new-tokens 4");
  INFO(generated.output);
  CHECK(generated.exit_code == 0);
  CHECK(generated.output.rfind("the film was", 0) == 0);
  expect_refused(run_cli("score --input " + (ws / "pairs.jsonl").string()), "--model or --adapter is required");
  expect_refused(run_cli("generate --adapter " + ws.string() + " --prompt x"),
                 "no adapter.safetensors and config.yaml there or in its best/");

  // the SST-2 adapter on an RTE-format task: its own predictions stay, the new ones go to eval/
  fs::create_directories(ws / "rte/glue/RTE");
  std::string rows = "index\tsentence1\tsentence2\tlabel\n";
  for (int i = 0; i < 12; ++i)
    rows += fmt::format("{}\tthe film was good\tthe {} was {}\t{}\n", i, i % 2 ? "plot" : "film", i % 3 ? "good" : "bad",
                        i % 3 ? "entailment" : "not_entailment");
  std::ofstream(ws / "rte/glue/RTE/train.tsv") << rows;
  std::ofstream(ws / "rte/glue/RTE/dev.tsv") << rows;
  const std::string before = read_text(run / "predictions/test.jsonl");
  Result rte = run_cli("eval --run " + run.string() + " --split dev --set task.name=rte --set task.data_dir=" +
                       (ws / "rte").string());
  INFO(rte.output);
  CHECK(rte.exit_code == 0);
  CHECK(rte.output.find("dev accuracy ") != std::string::npos);
  const std::string predictions = read_text(run / "eval/rte-dev.jsonl");
  CHECK(std::count(predictions.begin(), predictions.end(), '\n') == 6);  // RTE's dev: half of the 12 rows
  CHECK(predictions.find("entailment") != std::string::npos);
  CHECK(read_text(run / "predictions/test.jsonl") == before);
  CHECK(read_json(run / "eval/rte-dev.json")["overrides"].size() == 2);
  // another setting of the same task keeps its own file, and leaves the first as it was
  Result fewer = run_cli("eval --run " + run.string() + " --split dev --set task.name=rte --set task.data_dir=" +
                         (ws / "rte").string() + " --set task.max_dev=4");
  INFO(fewer.output);
  CHECK(fewer.exit_code == 0);
  const std::string marker = "predictions: " + (run / "eval/rte-dev-").string();
  REQUIRE(fewer.output.find(marker) != std::string::npos);
  const std::string file = fewer.output.substr(fewer.output.find(marker) + 13, marker.size() - 13 + 8 + 6);
  CHECK(file.ends_with(".jsonl"));
  const std::string fewer_predictions = read_text(file);
  CHECK(std::count(fewer_predictions.begin(), fewer_predictions.end(), '\n') == 4);
  CHECK(read_text(run / "eval/rte-dev.jsonl") == predictions);
  const auto record = read_json(file.substr(0, file.size() - 6) + ".json");
  CHECK(record["overrides"].back() == "task.max_dev=4");
  CHECK(record["split"] == "dev");
}

TEST_CASE("task: a definition of one's own, named by path from the experiment", "[experiments][run]") {
  fs::path ws = workspace("own_task");
  fs::create_directories(ws / "defs");
  std::ofstream(ws / "defs/mood.yaml") << "name: mood\nformat: tsv\nheader: true\ncolumns: [sentence, label]\n"
                                          "files: {train: glue/SST-2/train.tsv, dev: glue/SST-2/dev.tsv}\n"
                                          "template: \"{sentence}\\nDid they like it?\"\nlabels: {\"0\": \"no\", \"1\": \"yes\"}\n"
                                          "metrics: [accuracy]\n";
  std::string yaml = config_text(ws, "runs");
  yaml.replace(yaml.find("task: {name: sst2,"), 18, "task: {definition: defs/mood.yaml,");
  std::ofstream(ws / "run.yaml") << yaml;
  Result r = run_cli("run " + (ws / "run.yaml").string() + " --set training.steps=4");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path run = ws / "runs/tiny-sst2/seed-3";
  CHECK(read_json(run / "summary.json")["task"] == "mood");
  const std::string predictions = read_text(run / "predictions/dev.jsonl");
  CHECK(predictions.find("\"gold\":\"yes\"") != std::string::npos);
  CHECK(predictions.find("\"scores\":{\"no\":") != std::string::npos);
  // the saved config names the definition by its absolute path
  CHECK(read_text(run / "config.yaml").find("definition: " + (ws / "defs/mood.yaml").string()) != std::string::npos);
  // a missing file, or a name the definition does not give, is an error naming the line
  std::string missing = yaml;
  missing.replace(missing.find("defs/mood.yaml"), 14, "defs/none.yaml");
  std::ofstream(ws / "missing.yaml") << missing;
  const Result m = run_cli("run " + (ws / "missing.yaml").string());
  expect_refused(m, "missing.yaml:8:");
  CHECK(m.output.find("task.definition: " + (ws / "defs/none.yaml").string() + " is not a file") != std::string::npos);
  expect_refused(run_cli("run " + (ws / "run.yaml").string() + " --set task.name=sst2"),
                 "task.name 'sst2' is not the name 'mood' that task.definition");
}

TEST_CASE("run: resolved.yaml holds every option of the method, command.json each command and iapt that ran it",
          "[experiments][run]") {
  fs::path ws = workspace("provenance");
  std::ofstream(ws / "run.yaml") << config_text(ws, "runs");
  Result killed = run_cli("run " + (ws / "run.yaml").string() + " --set training.steps=6 --set training.lr=0.02",
                          "IAPT_FAULT_KILL_AFTER_STEP=4");
  CHECK(killed.signal == SIGKILL);
  Result resumed = run_cli("run " + (ws / "run.yaml").string() + " --set training.steps=6 --set training.lr=0.02");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  const fs::path run = ws / "runs/tiny-sst2/seed-3";
  // config.yaml keeps the method as given (it fingerprints the run); resolved.yaml fills in the rest
  const std::string given = read_text(run / "config.yaml"), resolved = read_text(run / "resolved.yaml");
  CHECK(given.find("pooler:") == std::string::npos);
  for (const char* option : {"layers: all", "pooler: attention", "coefficient_learning: joint", "gated_prefix: false",
                             "shift_text_positions: true", "up: default", "query_std: 0.02", "version: B"})
    CHECK(resolved.find(option) != std::string::npos);
  CHECK(resolved.substr(resolved.find("task:")) == given.substr(given.find("task:")));
  const auto record = read_json(run / "command.json");
  CHECK(record["overrides"] == nlohmann::json({"training.steps=6", "training.lr=0.02"}));
  REQUIRE(record["invocations"].size() == 2);
  const std::string version = run_cli("--version").output;
  for (int i = 0; i < 2; ++i) {
    const std::string command = record["invocations"][i]["command"];
    CHECK(command.find(" run " + (ws / "run.yaml").string() + " --set training.steps=6 --set training.lr=0.02") !=
          std::string::npos);
    CHECK(record["invocations"][i]["iapt"] == version.substr(0, version.find('\n')));
    CHECK(record["invocations"][i]["resumed"] == (i == 1));
  }
}
