#pragma once
// Sweeps: one run config plus a `sweep:` section that expands into many runs.
//   sweep:
//     seeds: [1, 2, 3]
//     grid: {method: [{name: iapt, ...}, {name: lora, ...}], training.lr: [1e-3, 3e-3]}  # every combination
//     zip:  {method.soft_tokens: [1, 2, 4], method.bottleneck: [8, 16, 32]}              # side by side
//     label: [method.name]   # the keys whose values name a configuration (default: every swept key)
//     labels: [a, b, c]      # or names for the zip's positions, one each
//     select:                # optional: choose values per configuration on dev first
//       grid: {training.lr: [1e-4, 3e-4, 1e-3, 3e-3]}              # the candidates (every combination)
//       by_label: {prompt_tuning: {training.lr: [1e-3, 1e-2, 3e-2, 1e-1]}}  # a configuration's own candidates
//       seeds: [1]           # the selection stage's seeds (default: the first of `seeds`)
//     select: {from: ../results/study_sst2/selection.json, as: iapt}   # or another sweep's choice
//       # (each configuration takes the choice of its own label there, or of the label `as` names)
// Each configuration and seed becomes output_dir/NAME/LABEL/seed-N (its config written beside it as
// seed-N.yaml); a run whose summary.json exists is skipped; --jobs N runs N processes at once.
// NAME/sweep.json and a reused selection's "from" name files relative to NAME.
// With `select`, a configuration's runs are LABEL/CANDIDATE/seed-N (CANDIDATE as "training.lr=1e-3").
// The selection stage runs every candidate with the selection seeds; the candidate with the best
// mean dev score (the task's first metric, at each run's best checkpoint) is selected and written to
// NAME/selection.json; then the remaining seeds run with it alone. Runs of the selection seeds are
// shared by both stages. NAME/sweep.json names the swept and selected keys (the report's columns).
#include <cstdint>
#include <map>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace iapt::run {

struct SweepRun {
  std::string label;        // the configuration's name inside the sweep
  std::string candidate;    // with a selection stage: its values ("training.lr=1e-3"), else empty
  bool selection = false;   // a run of the selection stage (a selection seed)
  std::string sweep_dir;    // output_dir/NAME
  std::vector<std::string> swept_keys, selected_keys;  // the grid's and zip's keys; the selection's
  std::string reused_selection;  // the selection.json whose choice the run takes (select.from), else empty
  uint64_t seed = 1;
  std::string config_path;  // where its run config is written
  std::string run_dir;
  YAML::Node config;
};

// Every run the sweep may make: with a selection stage, every candidate with every seed (the
// final stage runs the selected candidate's alone).
// The most runs one sweep expands to; more is refused before anything is expanded.
inline constexpr double kMaxSweepRuns = 10000;

// `overrides` are --set's "a.b.c=value", applied to the file's YAML first (the sweep section's keys
// included); "a.b.c=v1,v2,v3" (a plain value with commas) sweeps the key over the values instead, as
// an entry of sweep.grid (a file without a sweep section becomes a sweep of it).
std::vector<SweepRun> expand_sweep(const std::string& path, const std::vector<std::string>& overrides = {});

// The selected candidate of each configuration, from the selection stage's finished runs: label ->
// candidate (a configuration is absent until all its selection runs have finished). Writes
// sweep_dir/selection.json (each candidate's mean dev score and the choice); several processes may.
std::map<std::string, std::string> select_candidates(const std::vector<SweepRun>& runs);

// Which of a sweep's runs to make now: configurations by label and seeds (empty: all). The
// selection stage's runs pass any seed filter, since every later run waits on their choice.
struct SweepFilter {
  std::vector<std::string> labels;
  std::vector<int64_t> seeds;
  // every label and seed named is the sweep's own
  void check(const std::vector<SweepRun>& runs, const std::string& path) const;
  bool includes(const SweepRun& r) const;
};

// The sweep's stages: with a selection stage of its own, its runs (first) and then each
// configuration's selected candidate with the remaining seeds (final, given the choice); without
// one, every run is of the first stage. Both keep to the filter.
bool has_selection_stage(const std::vector<SweepRun>& runs);
std::vector<const SweepRun*> first_stage(const std::vector<SweepRun>& runs, const SweepFilter& filter);
std::vector<const SweepRun*> final_stage(const std::vector<SweepRun>& runs, const SweepFilter& filter,
                                         const std::map<std::string, std::string>& chosen);
// How many runs the whole sweep makes: with a selection stage, its runs and one run per
// configuration and remaining seed.
size_t planned_runs(const std::vector<SweepRun>& runs);

// Writes NAME/sweep.json (the sweep file and --set overrides, its swept and selected keys, the
// planned runs) and, for a
// sweep that reuses another's selection, NAME/selection.json.
void write_sweep_index(const std::string& path, const std::vector<SweepRun>& runs,
                       const std::vector<std::string>& overrides = {});

// Writes each run's config and returns the runs not finished yet. A finished run (summary.json) is
// skipped, and said so unless `quiet`, only when its config is the one the sweep would write (its
// output_dir aside, so a clone elsewhere resumes); another config is an error.
std::vector<const SweepRun*> runs_to_make(const std::string& path, const std::vector<const SweepRun*>& runs,
                                          bool quiet = false);

// Writes every run's config, runs the missing ones with `cli` (the iapt executable) and `jobs`
// processes at a time (each with cores / jobs OpenMP threads unless OMP_NUM_THREADS is set), and
// writes the report. Runs the filter leaves out are left as they are; the selection and the report
// still read every finished run. A finished run is skipped when its config is the one the sweep
// would write (its output_dir aside, so a clone elsewhere resumes). Returns how many runs failed.
int run_sweep(const std::string& path, int jobs, const std::string& cli, const SweepFilter& filter = {},
              const std::vector<std::string>& overrides = {});

}  // namespace iapt::run
