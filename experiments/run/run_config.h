#pragma once
// An experiment: one YAML file with the backbone, the method, the task and how to train and
// evaluate. Every field has a default except backbone and task; the resolved config (defaults
// filled in) is written into each run's directory. `--set a.b.c=value` overrides any field.
//
//   name: sst2-iapt
//   seed: 1
//   output_dir: runs            # the run goes to output_dir/name/seed-N
//   device: cpu                 # or cuda: the backbone, the method and every batch on the GPU
//   backbone: {path: ${IAPT_SHARED}/models/en-llama-6m, tokenizer: (default: path/tokenizer.model, else path/tokenizer.json),
//              dtype: f32 (or bf16, f16: frozen 16-bit projection and embedding matrices)}
//   method:   {name: iapt, ...}            (experiments/config/peft_config.h)
//   task:     {name: sst2, data_dir: ${IAPT_SHARED}/data, max_train: 0, max_dev: 0, max_test: 0,
//              max_length: 256, carve_train: 0, carve_dev: 0, split_seed: 1}
//   task:     {definition: my_task.yaml, data_dir: ...}  a task of one's own (relative to this file;
//              its format as experiments/tasks/defs/*.yaml; task.name defaults to the one it gives)
//   training: {optimizer: adamw, lr: 1e-3, coefficient_lr: 1e-3, weight_decay: 0, schedule: linear,
//              warmup_ratio: 0.06, steps: 200, batch_size: 16, grad_accumulation: 1,
//              max_grad_norm: 1.0, eval_every: 50, checkpoint_every: 50, patience: 0, log_every: 10,
//              diagnostics_every: 50, on_nonfinite: stop}
//   evaluation: {mode: rank, beams: 1, batch_size: 32}
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "experiments/config/peft_config.h"

namespace iapt::run {

struct TaskOptions {
  std::string name;
  std::string definition;  // a task definition file of one's own (task.definition), else empty: defs/NAME.yaml
  std::string data_dir;
  int64_t max_train = 0, max_dev = 0, max_test = 0;  // 0: all
  int64_t max_length = 256;                          // instruction tokens kept (BOS and the end)
  double carve_train = 0, carve_dev = 0;
  // Shuffles the split (and a subsampled training set) apart from the run's seed, so every method
  // and seed of a study sees the same dev and test sets and comparisons can be paired.
  uint64_t split_seed = 1;
};

struct TrainingOptions {
  std::string optimizer = "adamw";  // adamw, adam, sgd
  double lr = 1e-3;
  double coefficient_lr = 1e-3;     // IAPT's rational coefficients
  double weight_decay = 0.0;
  std::string schedule = "linear";  // constant, linear, cosine
  double warmup_ratio = 0.06;
  int64_t steps = 200;
  int64_t batch_size = 16;
  int64_t grad_accumulation = 1;
  double max_grad_norm = 1.0;
  int64_t eval_every = 50;
  int64_t checkpoint_every = 50;
  int64_t patience = 0;  // evaluations without a better dev score before stopping (0: never stop early)
  int64_t log_every = 10;
  int64_t diagnostics_every = 50;  // diagnostics.jsonl: gradient, update and prefix norms (experiments/run/diagnostics.h)
  // A step whose loss or gradient norm is NaN or infinite updates nothing; then the run stops with
  // an error naming the step ("stop"), or goes on and counts it in the summary ("skip").
  std::string on_nonfinite = "stop";
};

struct EvaluationOptions {
  std::string mode = "rank";  // rank the label words by likelihood, or generate and match
  int64_t beams = 1;
  int64_t batch_size = 32;
};

struct RunConfig {
  std::string file;
  std::string name;
  uint64_t seed = 1;
  std::string output_dir = "runs";
  std::string device = "cpu";  // cpu or cuda
  std::string tokenizer;  // backbone.tokenizer
  config::BackboneSpec backbone;
  config::MethodSpec method;
  YAML::Node method_yaml;  // the method section as given (after overrides): written back verbatim
  YAML::Node method_resolved;  // the method section as read: every option, defaults filled in
  std::vector<std::string> overrides;  // the --set values applied to the file
  std::string command;  // the command line that started the run, where the caller says
  TaskOptions task;
  TrainingOptions training;
  EvaluationOptions evaluation;

  std::string run_dir() const;  // output_dir/name/seed-N
  // Every field with its default filled in; the method section as given (config.yaml, which
  // fingerprints the run), or with `resolved_method` every option of the method too (resolved.yaml).
  std::string to_yaml(bool resolved_method = false) const;
};

// Reads and validates a run config; `overrides` are "a.b.c=value" applied before validation.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides = {});
// `overrides`: the --set values already merged into `root`, so that errors in them name the --set.
RunConfig read_run_config(YAML::Node root, const std::string& path,
                          std::shared_ptr<const config::Overrides> overrides = nullptr);
// Sets root[a][b][c] for the path "a.b.c", making mappings on the way; `what` names it in errors.
void set_path(YAML::Node root, const std::string& path, const YAML::Node& value, const std::string& what);

}  // namespace iapt::run
