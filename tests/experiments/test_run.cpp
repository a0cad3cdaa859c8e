// `iapt run` end to end on the tiny fixture model (tests/fixtures/llama-gqa with the 64-piece
// tests/fixtures/tiny-tokenizer) and a small SST-2-format task written here: a run killed with
// SIGKILL resumes from its last checkpoint and ends with the metrics of a run never killed; bad
// configs and data stop the run with a one-line error naming the place; a second process is kept out
// of a run folder in use.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "core/tensor.h"
#include "experiments/run/run_lock.h"
#include "models/tokenizer/sentencepiece_tokenizer.h"
#include "tests/experiments/cli_run.h"

using namespace std::string_literals;
namespace fs = std::filesystem;
using namespace iapt::testing;

TEST_CASE("run: a run killed with SIGKILL resumes and ends with the metrics of an uninterrupted one", "[experiments][run]") {
  fs::path ws = workspace("resume");
  std::ofstream(ws / "a.yaml") << config_text(ws, "a");
  std::ofstream(ws / "b.yaml") << config_text(ws, "b");

  Result a = run_cli("run " + (ws / "a.yaml").string());
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  const fs::path run_a = ws / "a/tiny-sst2/seed-3", run_b = ws / "b/tiny-sst2/seed-3";

  Result killed = run_cli("run " + (ws / "b.yaml").string(), "IAPT_FAULT_KILL_AFTER_STEP=6");
  INFO(killed.output);
  CHECK(killed.signal == SIGKILL);
  CHECK_FALSE(fs::exists(run_b / "summary.json"));
  // the killed process's lock file stays; no process holds it, so the resume takes it over
  CHECK(fs::exists(run_b / "run.lock"));
  {  // while a process holds the folder, a second run of it is refused, naming that process
    const iapt::run::RunFolderLock held(run_b.string());
    Result second = run_cli("run " + (ws / "b.yaml").string());
    INFO(second.output);
    CHECK(second.exit_code == 1);
    CHECK(second.output.find(fmt::format("another process (pid {}) is running this run", getpid())) !=
          std::string::npos);
    CHECK_FALSE(fs::exists(run_b / "summary.json"));
  }
  Result resumed = run_cli("run " + (ws / "b.yaml").string());
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.output.find("(resumed)") != std::string::npos);

  auto sa = read_json(run_a / "summary.json"), sb = read_json(run_b / "summary.json");
  CHECK(sb["resumed"] == true);
  CHECK(sa["final_loss"] == sb["final_loss"]);
  CHECK(sa["dev"] == sb["dev"]);
  CHECK(sa["test"] == sb["test"]);
  CHECK(sa["best_step"] == sb["best_step"]);
  CHECK(sa["steps"] == 12);
  // what a bitwise rerun must match is recorded: threads, and the CPU with its BLAS kernel set
  CHECK(sa["cpu_threads"].get<int>() >= 1);
  CHECK(sa["cpu"].get<std::string>().find("; OpenBLAS ") != std::string::npos);
  // the whole log is the same, the steps after the checkpoint logged once
  auto without_speed = [](const std::string& text) {  // tokens/s is a timing, the rest must match
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      j.erase("tokens_per_s");
      out += j.dump() + "\n";
    }
    return out;
  };
  CHECK(without_speed(read_text(run_a / "metrics.jsonl")) == without_speed(read_text(run_b / "metrics.jsonl")));
  CHECK(fs::exists(run_a / "best/adapter.safetensors"));
  CHECK(read_json(run_a / "data.json")["protocol"].get<std::string>().find("halved") != std::string::npos);

  Result ev = run_cli("eval --run " + run_a.string() + " --split test");
  INFO(ev.output);
  REQUIRE(ev.exit_code == 0);
  CHECK(ev.output.find("test accuracy") != std::string::npos);
}

TEST_CASE("run: a resume checkpoint is refused when made under another config or data, incomplete, damaged or "
          "not finite",
          "[experiments][run]") {
  fs::path ws = workspace("trust");
  std::ofstream(ws / "c.yaml") << config_text(ws, "out");
  Result killed = run_cli("run " + (ws / "c.yaml").string(), "IAPT_FAULT_KILL_AFTER_STEP=6");
  REQUIRE(killed.signal == SIGKILL);
  const fs::path run = ws / "out/tiny-sst2/seed-3", state = run / "last/state.safetensors";
  const iapt::SafetensorsFile original = iapt::load_safetensors(state.string());
  CHECK(original.metadata.at("format") == "1");
  CHECK(original.metadata.at("next_step") == "4");
  auto resume_with = [&](const std::function<void(std::map<std::string, iapt::Tensor>&, std::map<std::string, std::string>&)>& damage,
                         const std::string& message, const std::string& extra = "") {
    auto tensors = original.tensors;
    auto metadata = original.metadata;
    damage(tensors, metadata);
    iapt::save_safetensors(state.string(), tensors, metadata);
    Result r = run_cli("run " + (ws / "c.yaml").string() + extra);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
    CHECK(r.output.find("remove " + run.string() + "/last to start the run over") != std::string::npos);
  };
  auto nothing = [](auto&, auto&) {};
  // the run folder's config.yaml removed, then resumed with another rate: the checkpoint knows
  fs::remove(run / "config.yaml");
  resume_with(nothing, "the checkpoint was made under another config", " --set training.lr=0.02");
  fs::remove(run / "config.yaml");
  // the data changed under it
  std::ofstream(ws / "data/glue/SST-2/train.tsv", std::ios::app) << "an extra film\t1\n";
  resume_with(nothing, "the checkpoint was made on other data");
  std::string train = read_text(ws / "data/glue/SST-2/train.tsv");
  std::ofstream(ws / "data/glue/SST-2/train.tsv") << train.substr(0, train.size() - std::string("an extra film\t1\n").size());
  fs::remove(run / "config.yaml");
  // a step counter out of range, past the end or negative
  resume_with([](auto&, auto& m) { m["next_step"] = "-3"; }, "the checkpoint's next_step is '-3', not an integer from 0 to 12");
  resume_with([](auto&, auto& m) { m["next_step"] = "40"; }, "the checkpoint's next_step is '40'");
  // one optimizer slot gone
  resume_with([](auto& t, auto&) { t.erase(std::prev(t.end())); }, "tensors of the");
  // a parameter that is not finite
  resume_with([](auto& t, auto&) { t.begin()->second = iapt::full(t.begin()->second.shape(), std::nan("")); }, "holds nan");
  // and the untouched checkpoint resumes to the end
  iapt::save_safetensors(state.string(), original.tensors, original.metadata);
  Result resumed = run_cli("run " + (ws / "c.yaml").string());
  INFO(resumed.output);
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.output.find("(resumed)") != std::string::npos);
}

TEST_CASE("run: bad configs and data stop the run with a one-line error naming the place", "[experiments][run]") {
  fs::path ws = workspace("errors");
  auto expect_error = [&](const std::string& yaml, const std::string& message, const std::string& extra = "") {
    std::ofstream(ws / "bad.yaml") << yaml;
    Result r = run_cli("run " + (ws / "bad.yaml").string() + extra);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);  // one line
  };
  const std::string good = config_text(ws, "c");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  expect_error(replaced("batch_size: 8", "batch_sise: 8"), "unknown key 'training.batch_sise' (did you mean 'batch_size'?)");
  expect_error(replaced("steps: 12", "steps: many"), "training.steps: expected an integer, got 'many'");
  expect_error(replaced((ws / "data").string(), (ws / "nodata").string()), "SST-2/dev.tsv: cannot open the data file");
  expect_error(good, "--set training.steps=x: training.steps: expected an integer, got 'x'", " --set training.steps=x");
  // every range error names the file, line and column, or the --set that gave the value
  expect_error(replaced("steps: 12", "steps: -5"), "bad.yaml:9:29: training.steps: expected an integer from 1 to");
  expect_error(replaced("batch_size: 8", "batch_size: 0"),
               "bad.yaml:9:45: training.batch_size: expected an integer from 1 to 1048576, got 0");
  expect_error(good, "--set training.steps=-5: training.steps: expected an integer from 1 to", " --set training.steps=-5");
  expect_error(good, "--set training={steps: 0}: training.steps: expected an integer from 1 to", " --set 'training={steps: 0}'");
  expect_error(replaced("lr: 0.01", "lr: -1"), "bad.yaml:9:16: training.lr: expected a number of at least 0, got -1");
  expect_error(replaced("soft_tokens: 2", "soft_tokens: 0"),
               "bad.yaml:7:35: method.soft_tokens: expected an integer from 1 to 63, got 0");  // the fixture has 64 positions
  expect_error(replaced("soft_tokens: 2", "soft_tokens: 64"), "method.soft_tokens: expected an integer from 1 to 63, got 64");
  expect_error(replaced("bottleneck: 6", "bottleneck: -1"), "method.bottleneck: expected an integer from 1 to 1048576, got -1");
  expect_error(replaced("degrees: [3, 2]", "degrees: [-1, 2]"),
               "method.activation.degrees: expected [numerator, denominator], each from 0 to 16, got -1, 2");
  expect_error(replaced("max_length: 32", "max_length: 1"), "task.max_length: expected an integer from 2 to 64, got 1");
  expect_error(replaced("soft_tokens: 2", "soft_tokens: 40"),
               "task.max_length: 32 tokens of text after the method's 40 soft tokens need 72 positions, more than the "
               "model's 64 (max_position_embeddings): at most 24");
  expect_error(replaced("max_length: 32", "max_length: 32, max_train: -5"),
               "task.max_train: expected an integer of at least 0, got -5");
  // a duplicated key is an error, not "the first wins" (line 9 is the training block)
  expect_error(replaced("steps: 12", "steps: 12, steps: 4"),
               "bad.yaml:9:33: key 'steps' appears twice in this mapping (first at line 9); keep one");
  expect_error(good + "training: {steps: 4}\n", "bad.yaml:10:1: key 'training' appears twice in this mapping (first at line 9)");
  // a file that is not a mapping of keys (found by fuzzing: it escaped as yaml-cpp's BadSubscript)
  expect_error("just a sentence\n", "bad.yaml:1:1: expected a mapping of keys at the top level, got a scalar");
  expect_error("- steps: 12\n", "bad.yaml:1:1: expected a mapping of keys at the top level, got a list");
  std::ofstream(ws / "data/glue/SST-2/dev.tsv", std::ios::app) << "a broken row without its label\n";
  expect_error(good, "dev.tsv:26: expected 2 tab-separated fields, got 1");
}

TEST_CASE("generate and score: lengths past the model's positions, beams and ranges give one-line errors",
          "[experiments][run]") {
  fs::path ws = workspace("bounds");
  const fs::path model = ws / "model";  // the fixture model (64 positions) with the tiny tokenizer beside it
  fs::create_directories(model);
  const std::string fx = IAPT_FIXTURE_DIR;
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(fx + "/llama-gqa/" + f, model / f);
  fs::copy_file(fx + "/tiny-tokenizer/tokenizer.model", model / "tokenizer.model");
  auto expect_error = [&](const std::string& args, const std::string& message) {
    Result r = run_cli(args);
    INFO(args << "\n" << r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') <= 2);  // CLI11 adds a usage hint on a second line
  };
  const std::string generate = "generate --model " + model.string() + " --prompt 'the film was' ";
  Result ok = run_cli(generate + "--max-new-tokens 4");
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  expect_error(generate + "--max-new-tokens 200", "and max_new_tokens is 200: more than the model's 64 positions");
  expect_error(generate + "--beams 0", "--beams: expected an integer from 1 to 64, got '0'");
  expect_error(generate + "--beams 1000", "--beams: expected an integer from 1 to 64, got '1000'");
  expect_error(generate + "--max-new-tokens -3", "--max-new-tokens: expected an integer from 1 to");
  // --dtype keeps the weight matrices 16-bit; greedy continuations of a 4-token prompt agree here
  // with f32's (the rounding moves the logits by about 1e-2 of their scale, not the top token)
  Result f32 = run_cli(generate + "--max-new-tokens 4 --dtype f32"), bf16 = run_cli(generate + "--max-new-tokens 4 --dtype bf16");
  INFO(f32.output << bf16.output);
  CHECK(bf16.exit_code == 0);
  CHECK(bf16.output == f32.output);
  // --compute bf16 keeps the activations and the key/value cache in bf16 as well
  Result all16 = run_cli(generate + "--max-new-tokens 4 --dtype bf16 --compute bf16");
  INFO(all16.output);
  CHECK(all16.exit_code == 0);
  CHECK(all16.output == f32.output);
  expect_error(generate + "--dtype bf17", "--dtype: bf17 not in {f32,bf16,f16}");
  expect_error(generate + "--compute bf16", "--compute bf16 keeps the activations in the weights' dtype, so it needs "
                                            "--dtype bf16 (got --dtype f32)");
  std::string words;
  for (int i = 0; i < 100; ++i) words += "the film was good ";
  std::ofstream(ws / "score.jsonl") << "{\"context\": \"the film\", \"continuation\": \" was good\"}\n"
                                    << "{\"context\": \"" << words << "\", \"continuation\": \" yes\"}\n";
  expect_error("score --model " + model.string() + " --input " + (ws / "score.jsonl").string(),
               "score.jsonl:2: score: context and continuation are");
  // a tokenizer with more pieces than the model has embeddings (generate, score, perplexity and run check it)
  iapt::models::SentencePieceTokenizer tok(fx + "/tiny-tokenizer/tokenizer.model");
  CHECK_NOTHROW(tok.require_fits(tok.vocab_size(), "the model"));
  CHECK_THROWS_WITH(tok.require_fits(tok.vocab_size() - 1, "the model"),
                    Catch::Contains(fmt::format("the tokenizer has {} pieces, more than the model's vocab_size of {}",
                                                tok.vocab_size(), tok.vocab_size() - 1)));
}

TEST_CASE("sweep: configurations and seeds run in parallel, are skipped once done, and are reported", "[experiments][run]") {
  fs::path ws = workspace("sweep");
  std::string yaml = sweep_text(ws, "ablation", 8);
  yaml += "sweep:\n  seeds: [1, 2]\n  grid:\n    method:\n"
          "      - {name: iapt, soft_tokens: 2, bottleneck: 6, activation: {kind: rational, version: B, degrees: [3, 2], init: gelu}}\n"
          "      - {name: prompt_tuning, soft_tokens: 2}\n"
          "      - {name: lpt, soft_tokens: 2, bottleneck: 5, layer: 1, pooler: max}\n"
          "      - {name: parallel_adapter, bottleneck: 3, placement: mlp, scale: 0.5}\n";
  std::ofstream(ws / "sweep.yaml") << yaml;
  Result first = run_cli("sweep " + (ws / "sweep.yaml").string() + " --jobs 2");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const fs::path out = ws / "sweeps/ablation";
  for (const char* label : {"iapt", "prompt_tuning"})
    for (const char* seed : {"seed-1", "seed-2"}) CHECK(fs::exists(out / label / seed / "summary.json"));
  const std::string table = read_text(out / "table.md");
  CHECK(table.find("| iapt | iapt |") != std::string::npos);
  CHECK(table.find("| prompt_tuning | prompt_tuning |") != std::string::npos);
  CHECK(read_text(out / "table.csv").find("iapt,iapt,") != std::string::npos);
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    CHECK(fs::file_size(out / "plots/learning_curves.png") > 1000);
    CHECK(fs::file_size(out / "plots/ablation.png") > 1000);
    CHECK(fs::file_size(out / "plots/rationals.png") > 1000);
    // a run whose summary lacks the learned coefficients (made before summaries held them) is passed
    // over for the next one
    auto summary = read_json(out / "iapt/seed-1/summary.json");
    summary.erase("rational_coefficients");
    std::ofstream(out / "iapt/seed-1/summary.json") << summary.dump(2);
    fs::remove(out / "plots/rationals.png");
    REQUIRE(run_cli("report " + out.string()).exit_code == 0);
    CHECK(fs::exists(out / "plots/rationals.png"));
  }
  // every method's saved run loads back: iapt eval rebuilds it from the run's config.yaml
  for (const char* label : {"iapt", "prompt_tuning", "lpt", "parallel_adapter"}) {
    fs::remove(out / label / "seed-1/predictions/dev.jsonl");
    Result ev = run_cli("eval --run " + (out / label / "seed-1").string() + " --split dev");
    INFO(label << ": " << ev.output);
    CHECK(ev.exit_code == 0);
    CHECK(fs::exists(out / label / "seed-1/predictions/dev.jsonl"));  // every evaluation writes its predictions
    auto summary = read_json(out / label / "seed-1/summary.json");
    CHECK(ev.output.find(fmt::format("dev accuracy {:.4f}", summary["dev"]["accuracy"].get<double>())) != std::string::npos);
  }
  Result again = run_cli("sweep " + (ws / "sweep.yaml").string());
  INFO(again.output);
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("skip iapt seed 1 (done)") != std::string::npos);
  CHECK(again.output.find("done iapt") == std::string::npos);
  // a changed config does not pass for the finished runs of the old one
  yaml.replace(yaml.find("steps: 8"), 8, "steps: 9");
  std::ofstream(ws / "sweep.yaml") << yaml;
  Result changed = run_cli("sweep " + (ws / "sweep.yaml").string());
  INFO(changed.output);
  CHECK(changed.exit_code != 0);
  CHECK(changed.output.find("was made with another config") != std::string::npos);
}

TEST_CASE("sweep: two configurations with one label are refused", "[experiments][run]") {
  fs::path ws = workspace("collide");
  std::string yaml = config_text(ws, "sweeps");
  yaml += "sweep:\n  label: [method.name]\n  grid:\n    method:\n"
          "      - {name: iapt, soft_tokens: 2, bottleneck: 6}\n      - {name: iapt, soft_tokens: 3, bottleneck: 6}\n";
  std::ofstream(ws / "sweep.yaml") << yaml;
  Result r = run_cli("sweep " + (ws / "sweep.yaml").string() + " --dry-run");
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("both named 'iapt'") != std::string::npos);
}

TEST_CASE("sweep: no seeds, or more runs than anyone runs (a YAML alias bomb), are refused before expanding",
          "[experiments][run]") {
  fs::path ws = workspace("bounds_sweep");
  auto expect_error = [&](const std::string& sweep, const std::string& message) {
    std::ofstream(ws / "sweep.yaml") << config_text(ws, "sweeps") + sweep;
    Result r = run_cli("sweep " + (ws / "sweep.yaml").string() + " --dry-run");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(message) != std::string::npos);
  };
  expect_error("sweep:\n  seeds: []\n  grid: {training.lr: [1e-3]}\n",
               "sweep.yaml:11:10: sweep.seeds: expected at least one seed, got an empty list");
  // nine lists of nine that refer to each other: 9^6 = 531,441 runs
  expect_error("x: &a [1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3]\n"
               "sweep:\n  grid: {training.lr: *a, training.weight_decay: *a, training.warmup_ratio: *a,\n"
               "         training.max_grad_norm: *a, training.coefficient_lr: *a, training.patience: [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n",
               "the sweep expands to 531441 runs, more than 10000; split it into several sweeps");
}

TEST_CASE("run: an early-stopped run, run again, does not train further", "[experiments][run]") {
  fs::path ws = workspace("stop");
  std::string yaml = config_text(ws, "out");
  yaml.replace(yaml.find("steps: 12"), 9, "steps: 40, patience: 1");
  yaml.replace(yaml.find("lr: 0.01"), 8, "lr: 0.0");  // no progress: the second evaluation stops the run
  std::ofstream(ws / "stop.yaml") << yaml;
  Result first = run_cli("run " + (ws / "stop.yaml").string());
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const fs::path run = ws / "out/tiny-sst2/seed-3";
  auto s1 = read_json(run / "summary.json");
  CHECK(s1["steps"] == 8);  // evaluations at 4 and 8; 8 is no better
  const std::string log = read_text(run / "metrics.jsonl");
  Result second = run_cli("run " + (ws / "stop.yaml").string());
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  CHECK(read_text(run / "metrics.jsonl") == log);  // nothing trained or logged again
  CHECK(read_json(run / "summary.json")["dev"] == s1["dev"]);
  CHECK(read_json(run / "summary.json")["steps"] == 8);
}

TEST_CASE("run: predictions recompute the summary, diagnostics and the majority baseline are written", "[experiments][run]") {
  fs::path ws = workspace("records");
  std::ofstream(ws / "c.yaml") << config_text(ws, "out");
  Result r = run_cli("run " + (ws / "c.yaml").string() + " --set training.diagnostics_every=4");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path run = ws / "out/tiny-sst2/seed-3";
  const auto summary = read_json(run / "summary.json");
  for (const char* split : {"dev", "test"}) {
    INFO(split);
    std::ifstream in(run / "predictions" / (std::string(split) + ".jsonl"));
    int n = 0, right = 0;
    for (std::string line; std::getline(in, line); ++n) {
      const auto j = nlohmann::json::parse(line);
      right += j["prediction"] == j["gold"];
      // the prediction is the best-scored label word
      std::string best;
      double top = -1e300;
      for (auto& [word, score] : j["scores"].items())
        if (score.get<double>() > top) top = score.get<double>(), best = word;
      CHECK(best == j["prediction"].get<std::string>());
      CHECK(j["id"].get<std::string>().rfind("glue/SST-2/dev.tsv:", 0) == 0);  // relative to the data folder
    }
    REQUIRE(n == 12);  // the 24 dev rows halved into dev and test
    CHECK(static_cast<double>(right) / n == Approx(summary[split]["accuracy"].get<double>()).margin(1e-12));
  }
  // the majority class of the training rows (32 of each: the first listed wins the tie) on dev and test
  const auto data = read_json(run / "data.json");
  CHECK(data["responses"]["train"]["positive"] == 32);
  CHECK(summary["majority"] == data["majority"]);
  CHECK(summary["split_seed"] == 1);
  // diagnostics: the start's distance from the frozen model, then every 4 steps (and the first)
  std::ifstream diag(run / "diagnostics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(diag, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 5);  // start, steps 1, 4, 8, 12
  CHECK(lines[0]["step"] == 0);
  CHECK(lines[0]["start"]["kl_from_frozen"].get<double>() > 0);  // random up-projections move the model at once
  CHECK(lines[0]["start"]["frozen_response_loss"].get<double>() > 0);
  CHECK(lines[1]["step"] == 1);
  CHECK(lines[4]["step"] == 12);
  for (const char* group : {"iapt.down.weight", "iapt.up.weight", "iapt.pool.query", "iapt.act.numerator"}) {
    INFO(group);
    CHECK(lines[2]["grad_norm"][group].get<double>() > 0);
    CHECK(lines[2]["update_norm"][group].get<double>() > 0);
  }
  for (const char* stat : {"layer0.prefix_key_norm", "layer1.text_key_norm", "layer1.pooler_entropy"}) {
    INFO(stat);
    CHECK(lines[2]["forward"][stat].get<double>() > 0);
  }
  CHECK(lines[2]["forward"]["layer1.pooler_entropy"].get<double>() <= 1.0 + 1e-9);
}

TEST_CASE("run: the split has its own seed: every run seed sees the same dev and test examples", "[experiments][run]") {
  fs::path ws = workspace("split_seed");
  std::ofstream(ws / "c.yaml") << config_text(ws, "out");
  auto ids = [&](const fs::path& run, const char* split) {
    std::ifstream in(run / "predictions" / (std::string(split) + ".jsonl"));
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["id"]);
    return out;
  };
  for (const char* seed : {"3", "4"}) REQUIRE(run_cli("run " + (ws / "c.yaml").string() + " --set seed=" + seed).exit_code == 0);
  REQUIRE(run_cli("run " + (ws / "c.yaml").string() + " --set seed=5 --set task.split_seed=2").exit_code == 0);
  const fs::path a = ws / "out/tiny-sst2/seed-3", b = ws / "out/tiny-sst2/seed-4", c = ws / "out/tiny-sst2/seed-5";
  CHECK(ids(a, "test") == ids(b, "test"));
  CHECK(ids(a, "dev") == ids(b, "dev"));
  CHECK(ids(a, "test") != ids(c, "test"));  // another split seed, another split
}

TEST_CASE("sweep: a selection stage picks each configuration's rate on dev, then runs the other seeds with it alone",
          "[experiments][run]") {
  fs::path ws = workspace("select");
  std::string yaml = sweep_text(ws, "protocol", 8);
  yaml += "sweep:\n  seeds: [1, 2]\n  label: [method]\n  zip:\n    method:\n" + kIaptAndLora +
          "  select:\n    grid: {training.lr: [1e-9, 3e-2]}\n    by_label: {lora: {training.lr: [1e-9, 1e-1]}}\n";
  std::ofstream(ws / "sweep.yaml") << yaml;
  Result r = run_cli("sweep " + (ws / "sweep.yaml").string() + " --jobs 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path out = ws / "sweeps/protocol";
  const auto selection = read_json(out / "selection.json");
  for (const char* label : {"iapt", "lora"}) {
    INFO(label);
    const std::string chosen = selection[label]["selected"].get<std::string>();
    double best = -1;
    std::string argmax;
    for (auto& [candidate, entry] : selection[label]["candidates"].items()) {
      const auto s = read_json(out / label / candidate / "seed-1/summary.json");
      CHECK(entry["dev_mean"].get<double>() == Approx(s["dev"]["accuracy"].get<double>()));
      if (entry["dev_mean"].get<double>() > best) best = entry["dev_mean"], argmax = candidate;
      // the second seed ran for the chosen candidate alone
      CHECK(fs::exists(out / label / candidate / "seed-2/summary.json") == (candidate == chosen));
    }
    CHECK(chosen == argmax);
  }
  CHECK(selection["lora"]["candidates"].contains("training.lr=1e-1"));
  // the rate is a column of its own, and the majority class stands under the table
  const std::string table = read_text(out / "table.md");
  // the swept methods differ by name alone: the method column says it once
  CHECK(table.find("| configuration | method | training.lr |") != std::string::npos);
  CHECK(table.find("Majority class") != std::string::npos);
  CHECK(fs::exists(out / "selection.md"));
  // the selected candidates compared, paired by seed
  Result cmp = run_cli("compare " + out.string() + " --a iapt --b lora --split dev");
  INFO(cmp.output);
  CHECK(cmp.exit_code == 0);
  CHECK(cmp.output.find("over 2 pairs") != std::string::npos);
  CHECK(cmp.output.find("| protocol/seed-2 |") != std::string::npos);
  Result by_example = run_cli("compare " + out.string() + " --a iapt --b lora --split dev --unit example");
  INFO(by_example.output);
  CHECK(by_example.exit_code == 0);
  CHECK(by_example.output.find("| protocol | 12 | 2 |") != std::string::npos);  // 12 dev examples, 2 seeds
  CHECK(by_example.output.find("over 12 examples") != std::string::npos);
  // another sweep takes the choice made here: every configuration runs IAPT's selected rate alone
  std::string reuse = sweep_text(ws, "ablation", 8);
  reuse += "sweep:\n  seeds: [1]\n  grid: {method.soft_tokens: [1, 2]}\n  select: {from: " +
           (out / "selection.json").string() + ", as: iapt}\n";
  std::ofstream(ws / "reuse.yaml") << reuse;
  Result reused = run_cli("sweep " + (ws / "reuse.yaml").string() + " --jobs 2");
  INFO(reused.output);
  REQUIRE(reused.exit_code == 0);
  const std::string iapt_choice = selection["iapt"]["selected"];
  for (const char* k : {"1", "2"}) {
    const fs::path run = ws / "sweeps/ablation" / k / iapt_choice / "seed-1";
    CHECK(fs::exists(run / "summary.json"));
    // the sweep's run config holds the value as the selection wrote it
    CHECK(read_text(run.string() + ".yaml").find("lr: " + iapt_choice.substr(iapt_choice.find('=') + 1)) != std::string::npos);
  }
  CHECK(read_text(ws / "sweeps/ablation/table.md").find("| method.soft_tokens | training.lr |") != std::string::npos);
  // the report refuses to average runs of different configs into one row
  const std::string chosen = selection["iapt"]["selected"];
  const fs::path cfg = out / "iapt" / chosen / "seed-2/config.yaml";
  std::string text = read_text(cfg);
  text.replace(text.find("steps: 8"), 8, "steps: 7");
  std::ofstream(cfg) << text;
  Result report = run_cli("report " + out.string());
  CHECK(report.exit_code != 0);
  CHECK(report.output.find("were made with different configs") != std::string::npos);
}

TEST_CASE("sweep: --only runs the named configurations and leaves the others for later", "[experiments][run]") {
  fs::path ws = workspace("only");
  std::ofstream(ws / "sweep.yaml") << select_sweep_text(ws, "[1, 2]");
  Result unknown = run_cli("sweep " + (ws / "sweep.yaml").string() + " --only lora,adapter");
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.output.find("--only: 'adapter' is not a configuration of the sweep (it has: iapt, lora)") != std::string::npos);
  Result part = run_cli("sweep " + (ws / "sweep.yaml").string() + " --only lora --jobs 2");
  INFO(part.output);
  REQUIRE(part.exit_code == 0);
  const fs::path out = ws / "sweeps/part";
  CHECK(!fs::exists(out / "iapt"));
  auto selection = read_json(out / "selection.json");
  CHECK(selection["iapt"]["selected"].is_null());
  const std::string lora = selection["lora"]["selected"];
  CHECK(fs::exists(out / "lora" / lora / "seed-2/summary.json"));
  // the rest later: lora's runs are done, iapt's run now
  Result rest = run_cli("sweep " + (ws / "sweep.yaml").string() + " --jobs 2");
  INFO(rest.output);
  REQUIRE(rest.exit_code == 0);
  CHECK(rest.output.find("done lora") == std::string::npos);
  CHECK(rest.output.find("skip lora " + lora + " seed 2 (done)") != std::string::npos);
  selection = read_json(out / "selection.json");
  CHECK(fs::exists(out / "iapt" / selection["iapt"]["selected"].get<std::string>() / "seed-2/summary.json"));
}

TEST_CASE("report: an ablation's columns are the method entries that tell its configurations apart",
          "[experiments][run]") {
  fs::path ws = workspace("columns");
  std::string yaml = sweep_text(ws, "ablate", 4);
  yaml += "sweep:\n  seeds: [1]\n  labels: [base, k1, mean]\n  zip:\n    method:\n"
          "      - {name: iapt, soft_tokens: 2, bottleneck: 6, activation: {kind: gelu}}\n"
          "      - {name: iapt, soft_tokens: 1, bottleneck: 6, activation: {kind: gelu}}\n"
          "      - {name: iapt, soft_tokens: 2, bottleneck: 6, pooler: mean, activation: {kind: gelu},\n"
          "         start: {up: normal, up_std: 0.02}}\n";
  std::ofstream(ws / "sweep.yaml") << yaml;
  Result r = run_cli("sweep " + (ws / "sweep.yaml").string() + " --jobs 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string table = read_text(ws / "sweeps/ablate/table.md");
  INFO(table);
  // soft_tokens, start and pooler vary (in the resolved config's order); bottleneck and activation are
  // the same in every row
  CHECK(table.find("| configuration | method | method.soft_tokens | method.start | method.pooler | tunable "
                   "parameters |") != std::string::npos);
  CHECK(table.find("| k1 | iapt | 1 | - | - |") != std::string::npos);
  CHECK(table.find("| mean | iapt | 2 | {up: normal, up_std: 0.02} | mean |") != std::string::npos);
  // a mapping's value is one quoted CSV field
  CHECK(read_text(ws / "sweeps/ablate/table.csv").find("\nmean,iapt,2,\"{up: normal, up_std: 0.02}\",mean,") !=
        std::string::npos);
  // a damaged summary is named, not reported as a bare parse error
  std::ofstream(ws / "sweeps/ablate/k1/seed-1/summary.json") << "{\"dev\": ";
  Result damaged = run_cli("report " + (ws / "sweeps/ablate").string());
  CHECK(damaged.exit_code != 0);
  CHECK(damaged.output.find("k1/seed-1/summary.json: not valid JSON") != std::string::npos);
}

TEST_CASE("sweep: --seeds runs some seeds now and the rest later, and a sweep folder moved elsewhere resumes",
          "[experiments][run]") {
  fs::path ws = workspace("seeds");
  const std::string yaml = select_sweep_text(ws, "[1, 2, 3]");
  std::ofstream(ws / "sweep.yaml") << yaml;
  Result unknown = run_cli("sweep " + (ws / "sweep.yaml").string() + " --seeds 2,7");
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.output.find("--seeds: 7 is not one of sweep.seeds (1, 2, 3)") != std::string::npos);
  // seed 2 of lora alone: the selection stage (seed 1, both rates) runs whole, seed 3 waits
  Result part = run_cli("sweep " + (ws / "sweep.yaml").string() + " --only lora --seeds 2 --jobs 2");
  INFO(part.output);
  REQUIRE(part.exit_code == 0);
  const fs::path out = ws / "sweeps/part";
  const std::string lora = read_json(out / "selection.json")["lora"]["selected"];
  CHECK(fs::exists(out / "lora/training.lr=1e-9/seed-1/summary.json"));
  CHECK(fs::exists(out / "lora/training.lr=3e-2/seed-1/summary.json"));
  CHECK(fs::exists(out / "lora" / lora / "seed-2/summary.json"));
  CHECK(!fs::exists(out / "lora" / lora / "seed-3"));
  CHECK(!fs::exists(out / "iapt"));
  // the folder names the sweep file relative to itself, so a copy of the repository stays true
  CHECK(read_json(out / "sweep.json")["file"] == "../../sweep.yaml");
  // moved elsewhere (the runs' configs name the old output_dir), the finished runs are skipped
  const fs::path moved = ws / "moved";
  fs::create_directories(moved);
  fs::copy(ws / "sweeps", moved / "sweeps", fs::copy_options::recursive);
  std::string text = yaml;
  const std::string old_out = "output_dir: " + (ws / "sweeps").string();
  text.replace(text.find(old_out), old_out.size(), "output_dir: " + (moved / "sweeps").string());
  std::ofstream(moved / "sweep.yaml") << text;
  Result rest = run_cli("sweep " + (moved / "sweep.yaml").string() + " --only lora --jobs 2");
  INFO(rest.output);
  REQUIRE(rest.exit_code == 0);
  CHECK(rest.output.find("skip lora " + lora + " seed 2 (done)") != std::string::npos);
  CHECK(rest.output.find("done lora " + lora + " seed 3") != std::string::npos);
  CHECK(rest.output.find("done lora " + lora + " seed 2") == std::string::npos);
  CHECK(fs::exists(moved / "sweeps/part/lora" / lora / "seed-3/summary.json"));
  CHECK(!fs::exists(out / "lora" / lora / "seed-3"));
}

TEST_CASE("run: a NaN or infinite loss stops the run at its step, with on_nonfinite: skip it goes on, and "
          "non-finite weights are never saved as the best",
          "[experiments][run]") {
  fs::path ws = workspace("nonfinite");
  std::ofstream(ws / "c.yaml") << config_text(ws, "out");
  // a rate of 1e300 is infinite in f32: the first update makes the parameters infinite, the second
  // step's loss NaN
  Result stopped = run_cli("run " + (ws / "c.yaml").string() + " --set training.lr=1e300");
  INFO(stopped.output);
  CHECK(stopped.exit_code != 0);
  CHECK(stopped.output.find("tiny-sst2: step 2: the training loss is nan") != std::string::npos);
  CHECK(stopped.output.find("no parameter was updated and the run stops") != std::string::npos);
  const fs::path run = ws / "out/tiny-sst2/seed-3";
  CHECK_FALSE(fs::exists(run / "summary.json"));
  CHECK_FALSE(fs::exists(run / "best/adapter.safetensors"));
  // skipping goes on to the first evaluation (step 4), where the infinite weights are refused
  Result skipped = run_cli("run " + (ws / "c.yaml").string() +
                           " --set training.lr=1e300 --set training.on_nonfinite=skip --set seed=4");
  INFO(skipped.output);
  CHECK(skipped.exit_code != 0);
  CHECK(skipped.output.find("step 4 dev") != std::string::npos);
  CHECK(skipped.output.find("it is not saved as the best weights") != std::string::npos);
  CHECK_FALSE(fs::exists(ws / "out/tiny-sst2/seed-4/best/adapter.safetensors"));
  // a finite run records that it skipped nothing
  Result fine = run_cli("run " + (ws / "c.yaml").string() + " --set training.on_nonfinite=skip --set seed=5");
  REQUIRE(fine.exit_code == 0);
  CHECK(read_json(ws / "out/tiny-sst2/seed-5/summary.json")["nonfinite_steps"] == 0);
  CHECK(read_text(ws / "out/tiny-sst2/seed-5/config.yaml").find("on_nonfinite: skip") != std::string::npos);
}

TEST_CASE("run: bilevel coefficient learning holds out every 20th training example, not dev", "[experiments][run]") {
  fs::path ws = workspace("bilevel");
  std::ofstream(ws / "c.yaml") << config_text(ws, "out");
  Result r = run_cli("run " + (ws / "c.yaml").string() + " --set method.coefficient_learning=bilevel");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path run = ws / "out/tiny-sst2/seed-3";
  const auto data = read_json(run / "data.json");
  CHECK(data["train"] == 64);
  CHECK(data["coefficient_examples"] == 3);  // rows 19, 39 and 59 of the 64
  CHECK(read_json(run / "summary.json")["rational_coefficients"].size() > 0);
  // a joint run holds nothing out
  Result joint = run_cli("run " + (ws / "c.yaml").string() + " --set seed=4");
  REQUIRE(joint.exit_code == 0);
  CHECK_FALSE(read_json(ws / "out/tiny-sst2/seed-4/data.json").contains("coefficient_examples"));
}

TEST_CASE("run: backbone.dtype bf16 trains IAPT on a 16-bit backbone, close to the f32 run", "[experiments][run][half]") {
  fs::path ws = workspace("bf16");
  const std::string f32 = config_text(ws, "f32");
  std::string bf16 = config_text(ws, "bf16");
  std::string all16 = config_text(ws, "all16");
  bf16.replace(bf16.find("/llama-gqa\n"), 11, "/llama-gqa\n  dtype: bf16\n");
  all16.replace(all16.find("/llama-gqa\n"), 11, "/llama-gqa\n  dtype: bf16\n  compute: bf16\n");
  std::ofstream(ws / "f32.yaml") << f32;
  std::ofstream(ws / "bf16.yaml") << bf16;
  std::ofstream(ws / "all16.yaml") << all16;
  Result a = run_cli("run " + (ws / "f32.yaml").string());
  Result b = run_cli("run " + (ws / "bf16.yaml").string());
  Result c = run_cli("run " + (ws / "all16.yaml").string());
  INFO(a.output << b.output << c.output);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  REQUIRE(c.exit_code == 0);
  const double loss32 = read_json(ws / "f32/tiny-sst2/seed-3/summary.json")["final_loss"].get<double>();
  const double loss16 = read_json(ws / "bf16/tiny-sst2/seed-3/summary.json")["final_loss"].get<double>();
  const double loss_all16 = read_json(ws / "all16/tiny-sst2/seed-3/summary.json")["final_loss"].get<double>();
  INFO("final loss f32 " << loss32 << ", bf16 weights " << loss16 << ", bf16 weights and activations " << loss_all16);
  // the frozen weights differ by bf16 rounding (2^-9 relative) and nothing else: 12 steps stay close
  CHECK(loss16 != loss32);  // the weights really were rounded
  CHECK(std::abs(loss16 - loss32) < 0.02 * loss32);
  // with every activation rounded too (compute: bf16), within 5% (measured: 4.8227 against 4.8284)
  CHECK(loss_all16 != loss16);
  CHECK(std::abs(loss_all16 - loss32) < 0.05 * loss32);
  CHECK(read_text(ws / "all16/tiny-sst2/seed-3/config.yaml").find("compute: bf16") != std::string::npos);
  // the resolved config records the dtype (a resume under another dtype is refused), f32's does not
  CHECK(read_text(ws / "bf16/tiny-sst2/seed-3/config.yaml").find("dtype: bf16") != std::string::npos);
  CHECK(read_text(ws / "f32/tiny-sst2/seed-3/config.yaml").find("dtype") == std::string::npos);

  auto expect_error = [&](const std::string& yaml, const std::string& message) {
    std::ofstream(ws / "bad.yaml") << yaml;
    Result r = run_cli("run " + (ws / "bad.yaml").string());
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
  };
  std::string typo = bf16;
  typo.replace(typo.find("dtype: bf16"), 11, "dtype: bf17");
  expect_error(typo, "backbone.dtype");
  std::string no_half_weights = all16;
  no_half_weights.replace(no_half_weights.find("dtype: bf16"), 11, "dtype: f32");
  expect_error(no_half_weights, "backbone.compute: bf16 keeps the activations in the weights' dtype, so it needs "
                                "dtype: bf16 (got dtype: f32)");
  const std::string full = bf16.substr(0, bf16.find("method:")) + "method: {name: full}\n" + bf16.substr(bf16.find("task:"));
  expect_error(full, "backbone.dtype: bf16 weights stay frozen, and method 'full' trains the backbone");
}
