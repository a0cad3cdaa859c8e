#include <fmt/format.h>

#include "experiments/cli/commands.h"
#include "experiments/cli/validators.h"
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/error.h"
#include "experiments/run/paired.h"
#include "experiments/run/report.h"
#include "experiments/run/report_html.h"
#include "experiments/run/slurm.h"
#include "experiments/run/sweep.h"
#include "experiments/run/trainer.h"

namespace iapt::cli {

void add_run(CLI::App& app) {
  struct Args {
    std::string file;
    std::vector<std::string> overrides;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("run", "Train and evaluate one experiment (resumes a killed run from its checkpoint)");
  cmd->add_option("file", a->file, "experiment YAML")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", a->overrides, "override a field: key.path=value (repeatable)");
  cmd->callback([a] {
    run::RunConfig c = run::load_run_config(a->file, a->overrides);
    c.command = command_line();
    run::RunSummary s = run::train_run(c);
    fmt::print("{}{}: {} tunable parameters, {} steps, best dev {} {:.4f} at step {}", s.run_dir,
               s.resumed ? " (resumed)" : "", s.tunable_parameters, s.steps, s.dev_metric, s.best_dev, s.best_step);
    for (auto& [k, v] : s.test) fmt::print(", test {} {:.4f}", k, v);
    fmt::print(", {:.1f} s\n", s.wall_seconds);
  });

  struct EvalArgs {
    std::string split = "test", dir;
    std::vector<std::string> overrides;
  };
  auto e = std::make_shared<EvalArgs>();
  auto* ev = app.add_subcommand("eval", "Evaluate a run's best weights on a split, of its task or another");
  ev->add_option("--run", e->dir, "run directory")->required()->check(CLI::ExistingDirectory);
  ev->add_option("--split", e->split, "dev or test")->check(CLI::IsMember({"dev", "test"}));
  ev->add_option("--set", e->overrides, "change the run's config first, e.g. task.name=rte (and task.data_dir, "
                                        "task.max_test...): another task's predictions go to RUN/eval/ (repeatable)");
  ev->callback([e] {
    const run::RunEvaluation r = run::evaluate_run(e->dir, e->split, e->overrides);
    for (auto& [k, v] : r.metrics) fmt::print("{} {} {:.4f}\n", e->split, k, v);
    fmt::print("predictions: {}\n", r.predictions);
  });
}

}  // namespace iapt::cli

namespace iapt::cli {

void add_sweep(CLI::App& app) {
  struct Args {
    std::string file;
    int jobs = 1;
    bool dry_run = false, slurm = false;
    run::SweepFilter filter;
    run::SlurmOptions cluster;
    std::string selected_run;
    std::vector<std::string> overrides;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sweep", "Run every configuration and seed of a sweep, then report");
  cmd->add_option("file", a->file, "experiment YAML with a sweep section")->required()->check(CLI::ExistingFile);
  cmd->add_option("--jobs", a->jobs, "runs at once (local processes)")->check(integer_between(1, 1024));
  cmd->add_flag("--dry-run", a->dry_run, "validate every run's config and list the runs, run nothing");
  cmd->add_option("--set", a->overrides, "override a field of every run: key.path=value; key.path=v1,v2,v3 sweeps the "
                                         "key over the values (a grid entry) (repeatable)");
  cmd->add_option("--only", a->filter.labels, "run only these configurations (labels; comma-separated or repeated); "
                                             "the report still covers every finished run")
      ->delimiter(',');
  cmd->add_option("--seeds", a->filter.seeds, "run only these of sweep.seeds (comma-separated or repeated), for "
                                              "example the first three of every configuration before the rest; the "
                                              "selection stage runs whole")
      ->delimiter(',');
  auto* slurm = cmd->add_flag("--slurm", a->slurm, "write the runs not finished as a SLURM job array (NAME/sweep.sbatch) "
                                                  "and submit it with sbatch; with --dry-run, write it only")
                    ->excludes("--jobs");
  cmd->add_option("--partition", a->cluster.partition, "SLURM partition")->needs(slurm);
  cmd->add_option("--time", a->cluster.time, "SLURM time limit of each run (e.g. 2:00:00)")->needs(slurm);
  cmd->add_option("--cpus-per-task", a->cluster.cpus_per_task, "CPUs (OpenMP threads) of each rank")
      ->check(integer_between(1, 4096))
      ->needs(slurm);
  cmd->add_option("--gpus-per-run", a->cluster.gpus_per_run, "GPUs of each run")->check(integer_between(0, 1024))->needs(slurm);
  cmd->add_option("--ranks-per-run", a->cluster.ranks_per_run, "MPI ranks of each run (srun --mpi=pmix)")
      ->check(integer_between(1, 4096))
      ->needs(slurm);
  cmd->add_option("--max-parallel", a->cluster.max_parallel, "array tasks running at once (0: no limit)")
      ->check(integer_between(0, 100000))
      ->needs(slurm);
  // what a task of NAME/sweep-final.sbatch runs: the config of CONFIGURATION's selected candidate
  // with SEED (written now), or nothing where that run has finished
  cmd->add_option("--selected-run", a->selected_run, "CONFIGURATION:SEED")->group("");
  cmd->callback([a] {
    if (!a->selected_run.empty()) {
      const size_t colon = a->selected_run.rfind(':');
      IAPT_CHECK(colon != std::string::npos && colon + 1 < a->selected_run.size() && colon + 20 > a->selected_run.size() &&
                     a->selected_run.find_first_not_of("0123456789", colon + 1) == std::string::npos,
                 "--selected-run: expected CONFIGURATION:SEED, got '{}'", a->selected_run);
      const std::string config = run::selected_run_config(a->file, a->selected_run.substr(0, colon),
                                                          std::stoull(a->selected_run.substr(colon + 1)), a->overrides);
      if (!config.empty()) fmt::print("{}\n", config);
      return;
    }
    if (a->slurm) {
      a->cluster.submit = !a->dry_run;
      const run::SlurmSweep s = run::slurm_sweep(a->file, std::filesystem::read_symlink("/proc/self/exe").string(),
                                                 a->filter, a->cluster, a->overrides);
      if (s.scripts.empty()) fmt::print("every run has finished; nothing to submit\n");
      for (size_t i = 0; i < s.scripts.size(); ++i)
        fmt::print("{} {}{}\n", s.job_ids.empty() ? "wrote" : "submitted job " + s.job_ids[i] + ":", s.scripts[i],
                   s.array_tasks[i] ? fmt::format(" (an array of {} task{})", s.array_tasks[i], s.array_tasks[i] == 1 ? "" : "s") : "");
      return;
    }
    if (a->dry_run) {
      const auto runs = run::expand_sweep(a->file, a->overrides);
      a->filter.check(runs, a->file);
      for (const auto& r : runs)
        if (a->filter.includes(r))
          fmt::print("{}{} seed {}{} -> {}\n", r.label, r.candidate.empty() ? "" : " " + r.candidate, r.seed,
                     r.selection ? " (selection stage)" : "", r.run_dir);
      return;
    }
    // the runs are this same executable, in processes of their own
    const int failed = run::run_sweep(a->file, a->jobs, std::filesystem::read_symlink("/proc/self/exe").string(),
                                      a->filter, a->overrides);
    if (failed > 0) throw CLI::RuntimeError(fmt::format("{} runs failed", failed), 1);
    const auto runs = run::expand_sweep(a->file, a->overrides);
    if (runs.empty()) return;
    const std::filesystem::path dir = runs.front().sweep_dir;
    fmt::print("\n{}:\n", (dir / "table.md").string());
    std::ifstream in(dir / "table.md");
    std::cout << in.rdbuf();
  });

  struct CompareArgs {
    std::vector<std::string> sweeps, b_from;
    std::string a, b, split = "test", unit = "seed";
  };
  auto c = std::make_shared<CompareArgs>();
  auto* cmp = app.add_subcommand("compare", "Paired comparison of two configurations over the matched seeds of sweeps "
                                            "(sign-flip permutation test)");
  cmp->add_option("sweeps", c->sweeps, "sweep output directories (output_dir/NAME), e.g. one per task")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmp->add_option("--a", c->a, "a configuration's label (e.g. iapt)")->required();
  cmp->add_option("--b", c->b, "the configuration it is compared with (e.g. lora)")->required();
  cmp->add_option("--b-from", c->b_from, "where B's runs are, one sweep folder per sweep in the same order "
                                       "(default: the same sweeps)")
      ->check(CLI::ExistingDirectory);
  cmp->add_option("--split", c->split, "dev or test")->check(CLI::IsMember({"dev", "test"}));
  cmp->add_option("--unit", c->unit, "what is paired: seed (each seed's metric) or example (each example's accuracy "
                                     "averaged over the matched seeds)")
      ->check(CLI::IsMember({"seed", "example"}));
  cmp->callback([c] {
    if (c->unit == "example") {
      const run::PairedExamples ex = run::match_examples(c->sweeps, c->a, c->b, c->split, c->b_from);
      IAPT_CHECK(!ex.differences.empty(), "compare: no seed finished for both {} and {}", c->a, c->b);
      fmt::print("| sweep | examples | seeds | {} | {} | difference |\n|---|---:|---:|---:|---:|---:|\n", c->a, c->b);
      for (size_t i = 0; i < ex.sweeps.size(); ++i)
        fmt::print("| {} | {} | {} | {:.4f} | {:.4f} | {:+.4f} |\n", ex.sweeps[i], ex.examples[i], ex.seeds[i], ex.a[i],
                   ex.b[i], ex.a[i] - ex.b[i]);
      const run::PairedTest t = run::sign_flip_test(ex.differences);
      fmt::print("\n{} accuracy of {} minus {}, per example averaged over the matched seeds: mean {:+.4f} over {} examples "
                 "({} better, {} worse, {} tied); two-sided sign-flip permutation p = {:.4g}\n",
                 c->split, c->a, c->b, t.mean_difference, t.n, t.wins, t.losses, t.ties, t.p_value);
      return;
    }
    const run::PairedRuns runs = run::match_runs(c->sweeps, c->a, c->b, c->split, c->b_from);
    IAPT_CHECK(!runs.a.empty(), "compare: no seed finished for both {} and {}", c->a, c->b);
    std::vector<double> d;
    fmt::print("| pair | {} | {} | difference |\n|---|---:|---:|---:|\n", c->a, c->b);
    for (size_t i = 0; i < runs.a.size(); ++i) {
      d.push_back(runs.a[i] - runs.b[i]);
      fmt::print("| {} | {:.4f} | {:.4f} | {:+.4f} |\n", runs.pairs[i], runs.a[i], runs.b[i], d.back());
    }
    const run::PairedTest t = run::sign_flip_test(d);
    fmt::print("\n{} {} of {} minus {}: mean {:+.4f} over {} pairs ({} wins, {} losses, {} ties); two-sided sign-flip "
               "permutation p = {:.4g}\n",
               c->split, runs.metric, c->a, c->b, t.mean_difference, t.n, t.wins, t.losses, t.ties, t.p_value);
  });

  auto dir = std::make_shared<std::string>();
  auto html = std::make_shared<bool>(false);
  auto* rep = app.add_subcommand("report", "Tables (Markdown, CSV) and plots of a sweep's runs");
  rep->add_option("dir", *dir, "the sweep's output directory (output_dir/NAME)")->required()->check(CLI::ExistingDirectory);
  rep->add_flag("--html", *html, "also write DIR/report.html: tables, plots, curves and each run's config in one page");
  rep->callback([dir, html] {
    run::SweepProgress p;
    const auto rows = run::write_report(*dir, &p);
    if (p.planned > 0) fmt::print("{} of {} runs finished\n\n", p.finished, p.planned);
    if (rows.empty()) {
      fmt::print("no configuration has a row yet (its runs, or its selection stage, are still going)\n");
      return;
    }
    if (*html) {
      run::write_html_report(*dir, rows, p);
      fmt::print("wrote {}\n\n", (std::filesystem::path(*dir) / "report.html").string());
    }
    std::ifstream in(std::filesystem::path(*dir) / "table.md");
    std::cout << in.rdbuf();
  });
}

}  // namespace iapt::cli
