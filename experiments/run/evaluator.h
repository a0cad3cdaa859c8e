#pragma once
// Evaluation of a (model, method) on a split: rank the task's label words by the likelihood of
// their response tokens given the instruction (default for classification), or generate and match
// (and parse a number, for regression). Returns every metric the task names.
#include <map>
#include <string>
#include <vector>

#include "experiments/run/run_config.h"
#include "experiments/tasks/task.h"
#include "models/llama.h"
#include "models/tokenizer.h"
#include "nn/peft/method.h"

namespace iapt::run {

struct Evaluation {
  std::map<std::string, double> metrics;
  std::vector<std::string> predictions;  // label words (or generated text)
  std::vector<std::string> gold;         // what each prediction is scored against
  // rank mode: each example's choices with the summed log-probability of their response tokens
  std::vector<std::vector<std::pair<std::string, double>>> scores;
};

// predictions/<split>.jsonl of an evaluation, one line per example: {"id": file:line, "gold",
// "prediction", "scores": {choice: log-probability}}, from which its metrics can be recomputed and
// which paired comparisons across methods read. Written through a temporary file. Ids are relative
// to `data_dir` (the same on every machine); log-probabilities are rounded to 1e-6.
void write_predictions(const std::string& path, const std::vector<tasks::Example>& examples, const Evaluation& ev,
                       const std::string& data_dir = "");

Evaluation evaluate(const models::LlamaForCausalLM& model, nn::PeftMethod& method, const models::Tokenizer& tok,
                    const tasks::TaskSpec& task, const std::vector<tasks::Example>& examples,
                    const TaskOptions& task_options, const EvaluationOptions& options);

// The task's metrics of predictions against the gold responses. `groups` (each example's "group"
// field, MultiRC's question) is what group_exact_match needs; `answers` (every accepted response of
// each example, ReCoRD) makes exact match and token F1 take the best over them. Both may be empty.
std::map<std::string, double> score(const tasks::TaskSpec& task, const std::vector<std::string>& predicted,
                                    const std::vector<std::string>& gold, const std::vector<std::string>& groups = {},
                                    const std::vector<std::vector<std::string>>& answers = {});

// The task's metrics of one prediction per example, against the examples' gold responses (and
// their groups and accepted answers, where they have them).
std::map<std::string, double> score_examples(const tasks::TaskSpec& task, const std::vector<tasks::Example>& examples,
                                             const std::vector<std::string>& predicted);

}  // namespace iapt::run
