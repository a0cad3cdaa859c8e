#pragma once
// Paired comparisons of two configurations over matched runs: the same task, split and seed, so
// that what differs within a pair is the method alone. The statistic is the mean of the per-pair
// differences of a metric; its two-sided p-value comes from the sign-flip permutation test (under
// the null hypothesis each difference is as likely to have either sign): exact over all 2^n sign
// assignments up to n = 20, else from 200,000 seeded draws.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace iapt::run {

struct PairedTest {
  int n = 0;
  double mean_difference = 0;  // a - b
  int wins = 0, losses = 0, ties = 0;
  double p_value = 1;
};

PairedTest sign_flip_test(const std::vector<double>& differences);

// seed ("seed-N") -> run folder of each finished run of configuration `label` in a sweep folder (its
// selected candidate where the sweep has a selection stage)
std::map<std::string, std::filesystem::path> configuration_runs(const std::filesystem::path& sweep,
                                                                const std::string& label);

struct PairedRuns {
  std::vector<std::string> pairs;  // "sweep/seed-N" of each pair, for the record
  std::vector<double> a, b;        // the metric of each side
  std::string metric;
};

// The runs of configuration `label_a` and `label_b` in each sweep directory (each configuration's
// selected candidate where the sweep has a selection stage), matched by seed; `split` is dev or
// test; the metric is the task's first. B's runs are taken from `b_sweep_dirs` where given (one per
// sweep, in the same order: a follow-up sweep compared with an earlier one's runs on the same split).
PairedRuns match_runs(const std::vector<std::string>& sweep_dirs, const std::string& label_a, const std::string& label_b,
                      const std::string& split, const std::vector<std::string>& b_sweep_dirs = {});

// The same comparison with test examples as the unit, for accuracy: each example's correctness
// averaged over the matched seeds (from each run's predictions/SPLIT.jsonl), A's minus B's, one
// difference per example and sweep. It asks whether A is right on more examples than B with the
// training noise averaged out; unlike the test over seeds it can reach small p-values on one task
// with five seeds (which over seeds cannot go below 2/32), but it does not count the seeds'
// variance as noise, so it says less about a new training run than about these.
struct PairedExamples {
  std::vector<std::string> sweeps;  // per sweep: how many examples and matched seeds, for the record
  std::vector<int> examples, seeds;
  std::vector<double> a, b;         // per sweep: mean accuracy of each side over its matched seeds
  std::vector<double> differences;  // per example (all sweeps): mean correctness of A minus B's
};

PairedExamples match_examples(const std::vector<std::string>& sweep_dirs, const std::string& label_a,
                              const std::string& label_b, const std::string& split,
                              const std::vector<std::string>& b_sweep_dirs = {});

}  // namespace iapt::run
