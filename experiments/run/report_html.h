#pragma once
// report.html: one self-contained page for a sweep directory, readable from disk with no server:
// the results table (each configuration linked to its folder), the selection stage's candidates,
// every plot of NAME/plots inline, each configuration's curves (training loss and dev metric of
// every seed, drawn as inline SVG from metrics.jsonl), and each run's resolved config with the values
// that are not the same in every run of the report highlighted.
#include <string>
#include <vector>

#include "experiments/run/report.h"

namespace iapt::run {

// Writes dir/report.html from the rows write_report returned (and the plots it drew).
void write_html_report(const std::string& dir, const std::vector<ReportRow>& rows, const SweepProgress& progress);

}  // namespace iapt::run
