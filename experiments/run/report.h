#pragma once
// The report of a sweep directory (NAME/LABEL/seed-N runs): table.md and table.csv with each
// configuration's tunable parameters, dev and test metrics (mean, std and median over seeds) and
// wall time; and PNG plots through gnuplot where it is installed: learning curves, an ablation bar
// chart with error bars, and, for rational activations, each layer's learned function next to its
// initialisation.
#include <string>
#include <vector>

namespace iapt::run {

struct ReportRow {
  std::string label, method;
  int64_t tunable = 0;
  int seeds = 0;
  std::string metric;  // the task's first metric
  double dev_mean = 0, dev_std = 0, dev_median = 0;
  double test_mean = 0, test_std = 0, test_median = 0;
  double wall_mean = 0;
};

// Writes the tables (and plots) into `dir`; returns the rows.
std::vector<ReportRow> write_report(const std::string& dir);

}  // namespace iapt::run
