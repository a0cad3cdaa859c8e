#include "experiments/run/evaluator.h"

#include <algorithm>
#include <map>
#include <set>

#include "autograd/functions.h"
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/ops.h"
#include "experiments/metrics.h"
#include "experiments/run/batches.h"
#include "models/generation.h"

namespace iapt::run {

std::map<std::string, double> score(const tasks::TaskSpec& task, const std::vector<std::string>& predicted,
                                    const std::vector<std::string>& gold, const std::vector<std::string>& groups,
                                    const std::vector<std::vector<std::string>>& answers) {
  std::map<std::string, double> out;
  std::vector<std::string> words;
  for (auto& [raw, word] : task.labels) words.push_back(word);
  const std::string& positive = task.positive;  // "positive", "yes", "1", ...
  auto numbers = [](const std::vector<std::string>& v) {
    std::vector<double> out;
    for (const auto& s : v) {
      try {
        out.push_back(std::stod(s));
      } catch (const std::exception&) {
        out.push_back(0.0);  // an unparsable prediction scores as 0
      }
    }
    return out;
  };
  for (const auto& m : task.metrics) {
    if (m == "accuracy") out[m] = metrics::accuracy(predicted, gold);
    else if (m == "mcc") out[m] = metrics::matthews(predicted, gold, positive);
    else if (m == "f1" && words.size() <= 2) out[m] = metrics::f1(predicted, gold, positive);
    else if (m == "f1") {  // macro-averaged over the label words (CB)
      double total = 0;
      for (const auto& w : words) total += metrics::f1(predicted, gold, w);
      out[m] = total / static_cast<double>(words.size());
    } else if (m == "pearson") out[m] = metrics::pearson(numbers(predicted), numbers(gold));
    else if (m == "spearman") out[m] = metrics::spearman(numbers(predicted), numbers(gold));
    else if (m == "exact_match") out[m] = answers.empty() ? metrics::exact_match(predicted, gold)
                                                          : metrics::best_exact_match(predicted, answers);
    else if (m == "token_f1") out[m] = answers.empty() ? metrics::token_f1(predicted, gold)
                                                       : metrics::best_token_f1(predicted, answers);
    else if (m == "group_exact_match") {
      IAPT_CHECK(!groups.empty(), "{}: group_exact_match needs examples with a 'group' field", task.source);
      out[m] = metrics::group_exact_match(predicted, gold, groups);
    }
    else throw Error(fmt::format("{}: unknown metric '{}'", task.source, m));
  }
  return out;
}

namespace {

// Summed log-probability of each sequence's response tokens (those after instruction_length).
std::vector<double> response_logprobs(const models::LlamaForCausalLM& model, nn::PeftMethod& method,
                                      const std::vector<Encoded>& seqs, int64_t batch_size) {
  std::vector<double> out(seqs.size(), 0.0);
  NoGradGuard no_grad;
  method.set_training(false);
  for (size_t start = 0; start < seqs.size(); start += batch_size) {
    std::vector<const Encoded*> rows;
    for (size_t i = start; i < std::min(seqs.size(), start + batch_size); ++i) rows.push_back(&seqs[i]);
    Batch b = make_batch(rows);
    models::ForwardInputs in;
    in.attention_mask = b.attention_mask;
    in.hooks = &method;
    in.batch.instruction_mask = b.instruction_mask;
    // [B, T, V], read element by element: on the host
    Tensor lp = ops::softmax(model.forward(b.input_ids, in).data(), -1, true).to(Device::CPU);
    for (size_t r = 0; r < rows.size(); ++r) {
      const Encoded& e = *rows[r];
      double total = 0;
      for (size_t j = static_cast<size_t>(e.instruction_length); j < e.ids.size(); ++j)
        total += lp.at({static_cast<int64_t>(r), static_cast<int64_t>(j) - 1, e.ids[j]});
      out[start + r] = total;
    }
  }
  return out;
}

}  // namespace

Evaluation evaluate(const models::LlamaForCausalLM& model, nn::PeftMethod& method, const models::Tokenizer& tok,
                    const tasks::TaskSpec& task, const std::vector<tasks::Example>& examples,
                    const TaskOptions& task_options, const EvaluationOptions& options) {
  Evaluation ev;
  std::vector<std::string> gold;  // the label words, or for regression the raw score (not the rounded response)
  for (const auto& e : examples) gold.push_back(task.regression ? e.label : e.response);
  if (examples.empty()) return ev;
  if (options.mode == "rank" && !task.regression) {
    // Each example ranks its own candidates (ReCoRD's entities) or else the task's label words.
    std::vector<std::string> words;
    for (auto& [raw, word] : task.labels) words.push_back(word);
    std::map<std::string, std::vector<int64_t>> response_ids;  // each response's tokens, encoded once
    std::vector<Encoded> seqs;                                 // every example with each of its choices
    std::vector<size_t> first_seq{0};                          // example i's sequences: [first_seq[i], first_seq[i + 1])
    for (const auto& e : examples) {
      const std::vector<std::string>& choices = e.candidates.empty() ? words : e.candidates;
      IAPT_CHECK(!choices.empty(), "{}: no label words or candidates to rank", e.source);
      std::vector<int64_t> instr = encode_instruction(tok, e.instruction, task_options.max_length);
      for (const auto& w : choices) {
        auto it = response_ids.find(w);
        if (it == response_ids.end()) it = response_ids.emplace(w, encode_response(tok, w)).first;
        seqs.push_back(join(instr, it->second));
      }
      first_seq.push_back(seqs.size());
    }
    std::vector<double> lp = response_logprobs(model, method, seqs, options.batch_size);
    for (size_t i = 0; i < examples.size(); ++i) {
      const auto& choices = examples[i].candidates.empty() ? words : examples[i].candidates;
      size_t best = first_seq[i];
      for (size_t k = first_seq[i] + 1; k < first_seq[i + 1]; ++k)
        if (lp[k] > lp[best]) best = k;
      ev.predictions.push_back(choices[best - first_seq[i]]);
      auto& row = ev.scores.emplace_back();
      for (size_t k = first_seq[i]; k < first_seq[i + 1]; ++k) row.emplace_back(choices[k - first_seq[i]], lp[k]);
    }
  } else {
    method.set_training(false);
    for (size_t start = 0; start < examples.size(); start += options.batch_size) {
      std::vector<std::vector<int64_t>> prompts;
      for (size_t i = start; i < std::min(examples.size(), start + options.batch_size); ++i)
        prompts.push_back(encode_instruction(tok, examples[i].instruction, task_options.max_length));
      models::GenerationOptions g;
      g.max_new_tokens = 8;
      g.beams = options.beams;
      g.eos_id = tok.eos_id();
      g.hooks = &method;
      for (const auto& r : models::generate(model, prompts, g)) {
        std::string text = tok.decode(r.tokens);
        const auto first = text.find_first_not_of(" \n"), last = text.find_last_not_of(" \n");
        ev.predictions.push_back(first == std::string::npos ? "" : text.substr(first, last - first + 1));
      }
    }
  }
  ev.metrics = score_examples(task, examples, ev.predictions);
  ev.gold = std::move(gold);
  return ev;
}

std::map<std::string, double> score_examples(const tasks::TaskSpec& task, const std::vector<tasks::Example>& examples,
                                             const std::vector<std::string>& predicted) {
  std::vector<std::string> gold, groups;
  for (const auto& e : examples) gold.push_back(task.regression ? e.label : e.response);
  for (const auto& e : examples)
    if (auto it = e.fields.find("group"); it != e.fields.end()) groups.push_back(it->second);
  if (groups.size() != examples.size()) groups.clear();
  std::vector<std::vector<std::string>> answers;  // every accepted response: the example's list, or its gold
  for (size_t i = 0; i < examples.size(); ++i)
    answers.push_back(examples[i].answers.empty() ? std::vector<std::string>{gold[i]} : examples[i].answers);
  return score(task, predicted, gold, groups, answers);
}

void write_predictions(const std::string& path, const std::vector<tasks::Example>& examples, const Evaluation& ev,
                       const std::string& data_dir) {
  const std::string prefix = data_dir.empty() || data_dir.back() == '/' ? data_dir : data_dir + "/";
  IAPT_CHECK(ev.predictions.size() == examples.size() && ev.gold.size() == examples.size(),
             "write_predictions: {} predictions for {} examples", ev.predictions.size(), examples.size());
  std::string text;
  for (size_t i = 0; i < examples.size(); ++i) {
    const std::string& source = examples[i].source;
    const std::string id = !prefix.empty() && source.rfind(prefix, 0) == 0 ? source.substr(prefix.size()) : source;
    nlohmann::json line{{"id", id}, {"gold", ev.gold[i]}, {"prediction", ev.predictions[i]}};
    if (!ev.scores.empty()) {
      nlohmann::json scores = nlohmann::json::object();
      for (auto& [choice, logprob] : ev.scores[i]) scores[choice] = std::round(logprob * 1e6) / 1e6;
      line["scores"] = scores;
    }
    text += line.dump() + "\n";
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_text_atomically(path, text);
}

}  // namespace iapt::run
