#include "experiments/run/slurm.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <sys/wait.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "experiments/shell_quote.h"

namespace iapt::run {

namespace fs = std::filesystem;

namespace {

// #SBATCH lines take no quoting, so what goes into one must be a single plain word.
std::string sbatch_word(const std::string& value, const std::string& what) {
  IAPT_CHECK(!value.empty() && std::none_of(value.begin(), value.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
             "--slurm: {} '{}' must be one word without spaces, as #SBATCH lines carry it", what, value);
  return value;
}

// The #SBATCH header every script shares; `array` is "" for a single job.
std::string header(const std::string& job_name, const std::string& array, const fs::path& sweep_dir,
                   const SlurmOptions& o, int ranks, int cpus, int gpus, const std::string& output) {
  std::string h = "#!/bin/bash\n";
  h += fmt::format("#SBATCH --job-name={}\n", sbatch_word(job_name, "the sweep's name"));
  if (!array.empty()) h += fmt::format("#SBATCH --array={}\n", array);
  h += fmt::format("#SBATCH --output={}\n", sbatch_word((sweep_dir / "slurm" / output).string(), "the sweep's folder"));
  h += fmt::format("#SBATCH --chdir={}\n", sbatch_word(fs::current_path().string(), "the working folder"));
  h += fmt::format("#SBATCH --ntasks={}\n#SBATCH --cpus-per-task={}\n", ranks, cpus);
  if (gpus > 0) h += fmt::format("#SBATCH --gpus={}\n", gpus);
  if (!o.partition.empty()) h += fmt::format("#SBATCH --partition={}\n", sbatch_word(o.partition, "--partition"));
  if (!o.time.empty()) h += fmt::format("#SBATCH --time={}\n", sbatch_word(o.time, "--time"));
  return h + "set -euo pipefail\n";
}

// The lines that run the config in $config as a local sweep does: its log beside the run's folder.
std::string run_lines(const std::string& cli, const SlurmOptions& o) {
  // Open MPI as Debian builds it meets srun through PMIx
  const std::string launcher = o.ranks_per_run > 1 ? fmt::format("srun --mpi=pmix --ntasks={} ", o.ranks_per_run) : "";
  return fmt::format(
      "export OMP_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"\n"
      "log=\"${{config%.yaml}}.log\"\n"
      "echo \"array task ${{SLURM_ARRAY_TASK_ID}} on $(hostname): {}iapt run $config (its log: $log)\"\n"
      "status=0\n"
      "{}{} run \"$config\" > \"$log\" 2>&1 || status=$?\n"
      "echo \"exit status $status\"\n"
      "exit \"$status\"\n",
      launcher, launcher, single_quoted(cli));
}

std::string array_spec(size_t tasks, int max_parallel) {
  return fmt::format("0-{}{}", tasks - 1, max_parallel > 0 ? fmt::format("%{}", max_parallel) : "");
}

// Runs `sbatch --parsable [--dependency=afterany:AFTER] SCRIPT`; returns the job id it printed.
std::string submit(const std::string& script, const std::string& after) {
  const std::string command = fmt::format("sbatch --parsable {}{} 2>&1",
                                          after.empty() ? "" : "--dependency=afterany:" + after + " ",
                                          single_quoted(script));
  FILE* pipe = popen(command.c_str(), "r");
  IAPT_CHECK(pipe != nullptr, "--slurm: cannot start sbatch");
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  IAPT_CHECK(rc != 127, "--slurm: sbatch is not on PATH (is this a SLURM login node?); --dry-run writes {} without "
                        "submitting it",
             script);
  IAPT_CHECK(rc == 0, "--slurm: sbatch {} failed (exit status {}): {}", script, rc, output);
  const std::string id = output.substr(0, output.find_first_of(";\n"));  // "ID" or "ID;CLUSTER"
  IAPT_CHECK(!id.empty() && std::all_of(id.begin(), id.end(), ::isdigit), "--slurm: sbatch {} printed no job id: {}",
             script, output);
  return id;
}

}  // namespace

SlurmSweep slurm_sweep(const std::string& path, const std::string& cli, const SweepFilter& filter,
                       const SlurmOptions& options, const std::vector<std::string>& overrides) {
  IAPT_CHECK(options.ranks_per_run >= 1 && options.cpus_per_task >= 1 && options.gpus_per_run >= 0 &&
                 options.max_parallel >= 0,
             "--slurm: ranks and CPUs per run must be at least 1, GPUs and the parallel limit at least 0");
  const std::vector<SweepRun> runs = expand_sweep(path, overrides);
  SlurmSweep out;
  if (runs.empty()) return out;
  filter.check(runs, path);
  write_sweep_index(path, runs, overrides);
  const fs::path sweep_dir = runs.front().sweep_dir;
  fs::create_directories(sweep_dir / "slurm");
  const std::string name = "iapt-" + sweep_dir.filename().string(), sweep_file = fs::absolute(path).string();
  const int ranks = options.ranks_per_run;

  // the first array: one task per unfinished run (the selection stage's, where the sweep has one)
  const std::vector<const SweepRun*> first = runs_to_make(path, first_stage(runs, filter));
  if (!first.empty()) {
    std::string s = header(name, array_spec(first.size(), options.max_parallel), sweep_dir, options, ranks,
                           options.cpus_per_task, options.gpus_per_run, "%A_%a.out");
    s += fmt::format("# {} runs of {}{}, one per array task\nruns=(\n", first.size(), sweep_file,
                     has_selection_stage(runs) ? " (its selection stage)" : "");
    for (const SweepRun* r : first) s += "  " + single_quoted(r->config_path) + "\n";
    s += ")\nconfig=\"${runs[$SLURM_ARRAY_TASK_ID]}\"\n" + run_lines(cli, options);
    out.scripts.push_back((sweep_dir / "sweep.sbatch").string());
    write_text_atomically(out.scripts.back(), s);
    out.array_tasks.push_back(first.size());
  }
  // the final array: each configuration and remaining seed, with the candidate selected by then
  if (has_selection_stage(runs)) {
    const auto chosen = select_candidates(runs);
    std::set<std::string> done;  // "label:seed" of final runs finished already
    for (const SweepRun* r : final_stage(runs, filter, chosen))
      if (runs_to_make(path, {r}, true).empty()) done.insert(fmt::format("{}:{}", r->label, r->seed));
    std::vector<std::string> tasks;
    for (const auto& r : runs) {
      const std::string task = fmt::format("{}:{}", r.label, r.seed);
      if (!r.selection && filter.includes(r) && !done.count(task) &&
          std::find(tasks.begin(), tasks.end(), task) == tasks.end())
        tasks.push_back(task);
    }
    if (!tasks.empty()) {
      std::string s = header(name + "-final", array_spec(tasks.size(), options.max_parallel), sweep_dir, options, ranks,
                             options.cpus_per_task, options.gpus_per_run, "%A_%a.out");
      s += fmt::format("# the final stage of {}: each configuration's selected candidate with a remaining seed, one\n"
                       "# array task each (CONFIGURATION:SEED); the choice is read when the task starts\ntasks=(\n",
                       sweep_file);
      for (const auto& t : tasks) s += "  " + single_quoted(t) + "\n";
      std::string sets;
      for (const auto& o : overrides) sets += " --set " + single_quoted(o);
      s += fmt::format(")\nconfig=$({} sweep {}{} --selected-run \"${{tasks[$SLURM_ARRAY_TASK_ID]}}\")\n"
                       "if [[ -z \"$config\" ]]; then echo \"${{tasks[$SLURM_ARRAY_TASK_ID]}}: finished already\"; "
                       "exit 0; fi\n",
                       single_quoted(cli), single_quoted(sweep_file), sets);
      s += run_lines(cli, options);
      out.scripts.push_back((sweep_dir / "sweep-final.sbatch").string());
      write_text_atomically(out.scripts.back(), s);
      out.array_tasks.push_back(tasks.size());
    }
  }
  if (out.scripts.empty()) return out;  // every run has finished
  std::string report = header(name + "-report", "", sweep_dir, options, 1, 1, 0, "report-%j.out");
  report += fmt::format("# the report of {}, once the arrays have ended\nexec {} report {}\n", sweep_file, single_quoted(cli),
                        single_quoted(sweep_dir.string()));
  out.scripts.push_back((sweep_dir / "sweep-report.sbatch").string());
  write_text_atomically(out.scripts.back(), report);
  out.array_tasks.push_back(0);
  if (!options.submit) return out;
  for (const auto& script : out.scripts)
    out.job_ids.push_back(submit(script, out.job_ids.empty() ? "" : out.job_ids.back()));
  return out;
}

std::string selected_run_config(const std::string& path, const std::string& label, uint64_t seed,
                                const std::vector<std::string>& overrides) {
  const std::vector<SweepRun> runs = expand_sweep(path, overrides);
  IAPT_CHECK(has_selection_stage(runs), "{}: --selected-run: the sweep has no selection stage of its own", path);
  const auto chosen = select_candidates(runs);
  const auto it = chosen.find(label);
  for (const auto& r : runs) {
    if (r.label != label || r.seed != seed || r.selection) continue;
    IAPT_CHECK(it != chosen.end(), "{}: --selected-run: configuration '{}' has no selected candidate: not all of its "
                                   "selection runs have finished (see {}/selection.json)",
               path, label, r.sweep_dir);
    if (r.candidate != it->second) continue;
    return runs_to_make(path, {&r}, true).empty() ? "" : r.config_path;
  }
  throw Error(fmt::format("{}: --selected-run: the sweep has no final-stage run of configuration '{}' with seed {}",
                          path, label, seed));
}

}  // namespace iapt::run
