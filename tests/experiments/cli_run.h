#pragma once
// `iapt` run as a command from the tests, on the tiny fixture model (tests/fixtures/llama-gqa with
// the 64-piece tests/fixtures/tiny-tokenizer) and the tiny SST-2 task: the process, each test's own
// folder, and the run and sweep configs the run tests share.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tiny_sst2.h"

namespace iapt::testing {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  int signal = 0;
  std::string output;
};

// A shell command, its standard output and error together.
inline Result run_shell(const std::string& command) {
  Result r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  // popen runs a shell: a child killed by a signal shows as exit code 128 + signal
  if (r.exit_code > 128) r.signal = r.exit_code - 128;
  return r;
}

inline Result run_cli(const std::string& args, const std::string& env = "") {
  return run_shell(env + " " + IAPT_CLI + " " + args);
}

// Each test its own folder: ctest runs test cases in parallel processes.
inline fs::path workspace(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("iapt_run_test_{}_{}", name, static_cast<long>(getpid()));
  fs::remove_all(d);
  iapt::testing::write_tiny_sst2(d / "data");
  return d;
}

inline std::string config_text(const fs::path& ws, const std::string& out) {
  const std::string fx = IAPT_FIXTURE_DIR;
  return "name: tiny-sst2\nseed: 3\noutput_dir: " + (ws / out).string() + "\nbackbone:\n  path: " + fx +
         "/llama-gqa\n  tokenizer: " + fx +
         "/tiny-tokenizer/tokenizer.model\nmethod: {name: iapt, soft_tokens: 2, bottleneck: 6, "
         "activation: {kind: rational, version: B, degrees: [3, 2], init: gelu}}\n"
         "task: {name: sst2, data_dir: " +
         (ws / "data").string() +
         ", max_length: 32}\n"
         "training: {lr: 0.01, steps: 12, batch_size: 8, eval_every: 4, checkpoint_every: 4, log_every: 2}\n";
}

// A sweep's base: the run config under another name and number of steps, its runs in ws/sweeps.
inline std::string sweep_text(const fs::path& ws, const std::string& name, int steps) {
  std::string yaml = config_text(ws, "sweeps");
  yaml.replace(yaml.find("name: tiny-sst2"), 15, "name: " + name);
  yaml.replace(yaml.find("steps: 12"), 9, fmt::format("steps: {}", steps));
  return yaml;
}

// IAPT and LoRA as a sweep's zip over `method` (the lines after "    method:\n").
inline const std::string kIaptAndLora =
    "      - {name: iapt, soft_tokens: 2, bottleneck: 6, activation: {kind: rational, version: B, degrees: [3, 2], init: gelu}}\n"
    "      - {name: lora, r: 2, targets: [q, v]}\n";

// A 4-step sweep "part" of IAPT and LoRA whose rate is selected from 1e-9 and 3e-2 on dev.
inline std::string select_sweep_text(const fs::path& ws, const std::string& seeds) {
  return sweep_text(ws, "part", 4) + "sweep:\n  seeds: " + seeds + "\n  labels: [iapt, lora]\n  zip:\n    method:\n" +
         kIaptAndLora + "  select:\n    grid: {training.lr: [1e-9, 3e-2]}\n";
}

// A command that must fail, saying `message` (its output shown where it does not).
inline void expect_refused(const Result& r, const std::string& message) {
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find(message) != std::string::npos);
}

inline nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace iapt::testing
