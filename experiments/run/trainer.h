#pragma once
// One run of an experiment: train the method on the task's training split with the language-model
// loss on the response tokens, evaluate on dev every eval_every steps (early stopping on the
// task's first metric, the best PEFT weights kept), checkpoint every checkpoint_every steps, and
// finally evaluate the best weights on test. A run killed at any point resumes from its last
// checkpoint and ends with the same metrics. The run directory holds:
//   config.yaml      the resolved config          data.json     the split protocol and sizes
//   metrics.jsonl    one line per log or eval      best/         adapter.safetensors + config.yaml
//   last/state.safetensors  the resume checkpoint  summary.json  the final numbers
#include <map>
#include <string>

#include "experiments/run/run_config.h"

namespace iapt::run {

struct RunSummary {
  std::string run_dir;
  int64_t tunable_parameters = 0;
  int64_t steps = 0;            // steps trained
  int64_t nonfinite_steps = 0;  // of those, passed over for a NaN or infinite loss (training.on_nonfinite: skip)
  double final_loss = 0;        // the last step's training loss
  int64_t best_step = 0;
  std::string dev_metric;       // the task's first metric
  double best_dev = 0;
  std::map<std::string, double> dev, test;  // of the best weights
  double wall_seconds = 0;      // of this process (a resumed run: since the resume)
  bool resumed = false;
};

RunSummary train_run(const RunConfig& config);

struct RunEvaluation {
  std::map<std::string, double> metrics;
  std::string predictions;  // the file written
};

// Evaluates a finished run's best weights on a split ("dev" or "test"), and writes its predictions
// (predictions/<split>.jsonl in the run). `overrides` ("task.name=rte") change the run's config
// first, and the predictions then go to eval/<task>-<split>.jsonl, or eval/<task>-<split>-<8 hex>.jsonl
// where overrides beyond the task's name, data_dir and definition changed the evaluation (a
// fingerprint of them); <stem>.json beside it records the overrides and the metrics.
RunEvaluation evaluate_run(const std::string& run_dir, const std::string& split,
                           const std::vector<std::string>& overrides = {});

}  // namespace iapt::run
