#pragma once
// Sweeps: one run config plus a `sweep:` section that expands into many runs.
//   sweep:
//     seeds: [1, 2, 3]
//     grid: {method: [{name: iapt, ...}, {name: lora, ...}], training.lr: [1e-3, 3e-3]}  # every combination
//     zip:  {method.soft_tokens: [1, 2, 4], method.bottleneck: [8, 16, 32]}              # side by side
//     label: [method.name]   # the keys whose values name a configuration (default: every swept key)
//     labels: [a, b, c]      # or names for the zip's positions, one each
// Each configuration and seed becomes output_dir/NAME/LABEL/seed-N (its config written beside it as
// seed-N.yaml); a run whose summary.json exists is skipped; --jobs N runs N processes at once.
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace iapt::run {

struct SweepRun {
  std::string label;        // the configuration's name inside the sweep
  uint64_t seed = 1;
  std::string config_path;  // where its run config is written
  std::string run_dir;
  YAML::Node config;
};

std::vector<SweepRun> expand_sweep(const std::string& path);

// Writes every run's config, runs the missing ones with `cli` (the iapt executable) and `jobs`
// processes at a time (each with cores / jobs OpenMP threads unless OMP_NUM_THREADS is set), and
// writes the report. Returns how many runs failed.
int run_sweep(const std::string& path, int jobs, const std::string& cli);

}  // namespace iapt::run
