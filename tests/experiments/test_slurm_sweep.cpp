// `iapt sweep --slurm --dry-run`: the job-array scripts it writes, run here task by task with bash
// (SLURM_ARRAY_TASK_ID set as sbatch would), make the runs a local sweep makes; the report reads
// the folder while they go on. scripts/test-slurm.sh submits the same scripts to a real cluster.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <string>

#include "tests/experiments/cli_run.h"

namespace fs = std::filesystem;
using namespace iapt::testing;

namespace {

// Runs array task `task` of `script` as SLURM would start it; returns bash's exit status.
int run_task(const fs::path& script, int task) {
  const std::string command = fmt::format("SLURM_ARRAY_TASK_ID={} SLURM_CPUS_PER_TASK=1 bash '{}' > '{}.task{}.out' 2>&1",
                                          task, script.string(), script.string(), task);
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("sweep --slurm: an array of the unfinished runs, whose tasks make the runs a local sweep makes",
          "[experiments][run][slurm]") {
  fs::path ws = workspace("slurm");
  std::string yaml = sweep_text(ws, "grid", 4);
  yaml += "sweep:\n  seeds: [1, 2]\n  labels: [iapt, lora]\n  zip:\n    method:\n" + kIaptAndLora;
  std::ofstream(ws / "sweep.yaml") << yaml;
  // one run made locally first: the array leaves it out
  Result local = run_cli("sweep " + (ws / "sweep.yaml").string() + " --only iapt --seeds 1");
  INFO(local.output);
  REQUIRE(local.exit_code == 0);
  Result wrote = run_cli("sweep " + (ws / "sweep.yaml").string() +
                         " --slurm --dry-run --partition cpu --time 0:20:00 --cpus-per-task 2 --max-parallel 2");
  INFO(wrote.output);
  REQUIRE(wrote.exit_code == 0);
  const fs::path out = ws / "sweeps/grid";
  CHECK(wrote.output.find("wrote " + (out / "sweep.sbatch").string() + " (an array of 3 tasks)") != std::string::npos);
  CHECK(wrote.output.find("wrote " + (out / "sweep-report.sbatch").string()) != std::string::npos);
  CHECK_FALSE(fs::exists(out / "sweep-final.sbatch"));
  const std::string script = read_text(out / "sweep.sbatch");
  INFO(script);
  for (const char* line : {"#SBATCH --array=0-2%2\n", "#SBATCH --partition=cpu\n", "#SBATCH --time=0:20:00\n",
                           "#SBATCH --cpus-per-task=2\n", "#SBATCH --ntasks=1\n"})
    CHECK(script.find(line) != std::string::npos);
  CHECK(script.find("iapt/seed-1.yaml") == std::string::npos);  // finished
  CHECK(script.find("iapt/seed-2.yaml") != std::string::npos);
  CHECK(script.find("srun") == std::string::npos);  // one rank: no launcher
  CHECK(read_json(out / "sweep.json")["runs"] == 4);

  // while tasks go on, the report says how far the sweep is
  REQUIRE(run_task(out / "sweep.sbatch", 0) == 0);
  Result partial = run_cli("report " + out.string());
  INFO(partial.output);
  CHECK(partial.exit_code == 0);
  CHECK(partial.output.find("2 of 4 runs finished") != std::string::npos);
  CHECK(read_text(out / "table.md").find("A sweep in progress: 2 of its 4 runs have finished.") != std::string::npos);
  for (int task : {1, 2}) REQUIRE(run_task(out / "sweep.sbatch", task) == 0);
  REQUIRE(run_task(out / "sweep-report.sbatch", 0) == 0);
  for (const char* run : {"iapt/seed-1", "iapt/seed-2", "lora/seed-1", "lora/seed-2"}) {
    INFO(run);
    CHECK(fs::exists(out / run / "summary.json"));
    CHECK(fs::exists(out / (std::string(run) + ".log")));  // the run's log where a local sweep puts it
  }
  const std::string table = read_text(out / "table.md");
  CHECK(table.find("| iapt | iapt |") != std::string::npos);
  CHECK(table.find("| lora | lora |") != std::string::npos);
  CHECK(table.find("in progress") == std::string::npos);

  // an array task's run is the local sweep's run: the same predictions, to the byte
  std::string copy = yaml;
  copy.replace(copy.find("name: grid"), 10, "name: here");
  std::ofstream(ws / "here.yaml") << copy;
  Result here = run_cli("sweep " + (ws / "here.yaml").string() + " --only lora --seeds 2", "OMP_NUM_THREADS=1");
  INFO(here.output);
  REQUIRE(here.exit_code == 0);
  CHECK(read_text(ws / "sweeps/here/lora/seed-2/predictions/dev.jsonl") ==
        read_text(out / "lora/seed-2/predictions/dev.jsonl"));

  // nothing left: nothing to submit; several ranks per run go through srun
  Result again = run_cli("sweep " + (ws / "sweep.yaml").string() + " --slurm --dry-run");
  INFO(again.output);
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("every run has finished; nothing to submit") != std::string::npos);
  Result ranks = run_cli("sweep " + (ws / "here.yaml").string() + " --slurm --dry-run --ranks-per-run 2 --gpus-per-run 1");
  INFO(ranks.output);
  REQUIRE(ranks.exit_code == 0);
  const std::string two = read_text(ws / "sweeps/here/sweep.sbatch");
  CHECK(two.find("#SBATCH --ntasks=2\n") != std::string::npos);
  CHECK(two.find("#SBATCH --gpus=1\n") != std::string::npos);
  CHECK(two.find("srun --mpi=pmix --ntasks=2 '") != std::string::npos);
  CHECK(count(two, ".yaml'\n") == 3);  // the 3 runs the local sweep has not made

  // the cluster's options need --slurm; submitting needs sbatch
  expect_refused(run_cli("sweep " + (ws / "sweep.yaml").string() + " --partition cpu"), "--partition requires --slurm");
  expect_refused(run_cli("sweep " + (ws / "here.yaml").string() + " --slurm --dry-run --time '1 day'"),
                 "--time '1 day' must be one word");
  expect_refused(run_cli("sweep " + (ws / "here.yaml").string() + " --slurm", "PATH=/nonexistent"), "sbatch is not on PATH");
}

TEST_CASE("sweep --slurm: with a selection stage, a second array runs each configuration's choice once it is made",
          "[experiments][run][slurm]") {
  fs::path ws = workspace("slurm_select");
  std::ofstream(ws / "sweep.yaml") << select_sweep_text(ws, "[1, 2]");
  Result wrote = run_cli("sweep " + (ws / "sweep.yaml").string() + " --slurm --dry-run");
  INFO(wrote.output);
  REQUIRE(wrote.exit_code == 0);
  const fs::path out = ws / "sweeps/part";
  CHECK(wrote.output.find("sweep.sbatch (an array of 4 tasks)") != std::string::npos);  // 2 configurations x 2 rates
  CHECK(wrote.output.find("sweep-final.sbatch (an array of 2 tasks)") != std::string::npos);
  CHECK(read_json(out / "sweep.json")["runs"] == 6);
  const std::string final_script = read_text(out / "sweep-final.sbatch");
  CHECK(final_script.find("  'iapt:2'\n  'lora:2'\n") != std::string::npos);

  // a final task before the choice is made fails and says why
  REQUIRE(run_task(out / "sweep.sbatch", 0) == 0);
  CHECK(run_task(out / "sweep-final.sbatch", 0) != 0);
  CHECK(read_text((out / "sweep-final.sbatch").string() + ".task0.out")
            .find("configuration 'iapt' has no selected candidate: not all of its selection runs have finished") !=
        std::string::npos);
  Result waiting = run_cli("report " + out.string());
  INFO(waiting.output);
  CHECK(waiting.exit_code == 0);
  CHECK(waiting.output.find("1 of 6 runs finished") != std::string::npos);
  CHECK(waiting.output.find("no configuration has a row yet") != std::string::npos);

  for (int task : {1, 2, 3}) REQUIRE(run_task(out / "sweep.sbatch", task) == 0);
  for (int task : {0, 1}) REQUIRE(run_task(out / "sweep-final.sbatch", task) == 0);
  const auto selection = read_json(out / "selection.json");
  for (const char* label : {"iapt", "lora"}) {
    INFO(label);
    const std::string chosen = selection[label]["selected"];
    CHECK(fs::exists(out / label / chosen / "seed-2/summary.json"));
    for (const char* rate : {"training.lr=1e-9", "training.lr=3e-2"})
      if (rate != chosen) CHECK_FALSE(fs::exists(out / label / rate / "seed-2"));
  }
  // a task run twice finds its run finished
  CHECK(run_task(out / "sweep-final.sbatch", 1) == 0);
  CHECK(read_text((out / "sweep-final.sbatch").string() + ".task1.out").find("lora:2: finished already") !=
        std::string::npos);
  Result done = run_cli("report " + out.string());
  INFO(done.output);
  CHECK(done.output.find("6 of 6 runs finished") != std::string::npos);
  CHECK(done.output.find("| iapt | iapt |") != std::string::npos);
}
