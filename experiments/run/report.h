#pragma once
// The report of a sweep directory (NAME/LABEL/seed-N runs, or NAME/LABEL/CANDIDATE/seed-N with a
// selection stage, whose selected candidate alone makes the row; selection.md lists every
// candidate's dev score): table.md and table.csv with each
// configuration's tunable parameters, dev and test metrics (mean, std and median over seeds) and
// wall time; and PNG plots through gnuplot where it is installed: learning curves, an ablation bar
// chart with error bars, and, for rational activations, each layer's learned function next to its
// initialisation, and each configuration's diagnostics (gradient norms per parameter group, prefix
// against text key norms, pooler entropy per layer). Swept keys (NAME/sweep.json) are columns of
// their own, rows sort by their values, and the majority-class baseline stands under the table.
// Runs whose configs differ in anything but the seed are refused as one row.
#include <optional>
#include <string>
#include <vector>

namespace iapt::run {

struct ReportRow {
  std::string label, method;
  std::vector<std::pair<std::string, std::string>> columns;  // swept and selected keys and their values
  std::vector<std::string> run_dirs;                         // the row's runs, seed order
  int64_t tunable = 0;
  int seeds = 0;
  std::string metric;  // the task's first metric
  double dev_mean = 0, dev_std = 0, dev_median = 0;
  double test_mean = 0, test_std = 0, test_median = 0;
  double wall_mean = 0;
  std::optional<double> majority_dev, majority_test;  // the majority-class baseline, where the task has one
};

// How far a sweep has come: its finished runs (a summary.json each) and how many it makes in all, as
// NAME/sweep.json records (0 where it does not).
struct SweepProgress {
  size_t finished = 0, planned = 0;
};

// A config's scalar as the report shows it: a number in its shortest exact form (the resolved config
// writes 0.00029999999999999997 for 3e-4), anything else as written.
std::string display_scalar(const std::string& scalar);

// Writes the tables (and plots) into `dir`; returns the rows, and the sweep's progress where
// `progress` is given. A sweep still running gets a table of what has finished and a line saying
// how many runs have; none while no configuration has a row yet (no run finished, or no candidate
// selected).
std::vector<ReportRow> write_report(const std::string& dir, SweepProgress* progress = nullptr);

}  // namespace iapt::run
