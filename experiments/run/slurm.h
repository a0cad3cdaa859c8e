#pragma once
// A sweep as SLURM job arrays: `iapt sweep FILE --slurm` writes NAME/sweep.sbatch, an array with one
// task per run not finished yet (the sweep's skip rule), each task running `iapt run` on the run's
// config into the same folder and log (LABEL/seed-N.log) as a local sweep. A sweep with a selection
// stage of its own adds NAME/sweep-final.sbatch, an array over each configuration and remaining seed
// that starts once the selection array has ended and runs the candidate chosen by then. A last job,
// NAME/sweep-report.sbatch, writes the report after them. Each task's own output goes to
// NAME/slurm/JOB_TASK.out.
#include <string>
#include <vector>

#include "experiments/run/sweep.h"

namespace iapt::run {

struct SlurmOptions {
  std::string partition, time;  // empty: the cluster's defaults
  int cpus_per_task = 1;        // per rank; also each rank's OpenMP threads
  int gpus_per_run = 0;
  int ranks_per_run = 1;        // above 1: each run is `srun --mpi=pmix iapt run` on that many ranks
  int max_parallel = 0;         // array tasks running at once (0: no limit)
  bool submit = true;           // false: write the scripts only (--dry-run)
};

struct SlurmSweep {
  std::vector<std::string> scripts;  // the written .sbatch files, in submission order
  std::vector<size_t> array_tasks;   // each script's array tasks (0: a single job)
  std::vector<std::string> job_ids;  // one per submitted script (none for a dry run)
};

// Writes the scripts for the sweep at `path` (runs started by the iapt executable `cli`) and, unless
// a dry run, submits them with sbatch, each after the one before. Nothing to run submits nothing.
// The sweep's --set overrides are baked into the runs' configs (and passed to the final stage's
// tasks).
SlurmSweep slurm_sweep(const std::string& path, const std::string& cli, const SweepFilter& filter,
                       const SlurmOptions& options, const std::vector<std::string>& overrides = {});

// For a task of sweep-final.sbatch: writes the config of configuration `label`'s run with `seed` and
// the selected candidate, and returns its config path, or "" where that run has finished. An error
// where the configuration's selection runs have not all finished.
std::string selected_run_config(const std::string& path, const std::string& label, uint64_t seed,
                                const std::vector<std::string>& overrides = {});

}  // namespace iapt::run
