#include "experiments/run/data_parallel.h"

#include <nlohmann/json.hpp>

namespace iapt::run {

double sum_over_ranks(const optim::Communicator& world, const std::vector<Variable>& trained, double loss) {
  std::vector<Tensor> parts;
  for (const Variable& p : trained) {
    if (!p.grad().defined()) p.set_grad(zeros(p.shape(), p.dtype(), p.data().device()));
    parts.push_back(p.grad());
  }
  // the loss travels with the gradients, on their device
  const Tensor total = scalar_tensor(loss, DType::F64, trained.empty() ? Device::CPU : trained.front().data().device());
  parts.push_back(total);
  world.allreduce_sum(parts);
  return total.item();
}

Evaluation evaluate_on_ranks(const optim::Communicator& world, const models::LlamaForCausalLM& model,
                             nn::PeftMethod& method, const models::Tokenizer& tok, const tasks::TaskSpec& task,
                             const std::vector<tasks::Example>& examples, const TaskOptions& task_options,
                             const EvaluationOptions& options) {
  if (world.size() == 1) return evaluate(model, method, tok, task, examples, task_options, options);
  const size_t n = examples.size(), ranks = static_cast<size_t>(world.size()), rank = static_cast<size_t>(world.rank());
  const std::vector<tasks::Example> block(examples.begin() + static_cast<std::ptrdiff_t>(n * rank / ranks),
                                          examples.begin() + static_cast<std::ptrdiff_t>(n * (rank + 1) / ranks));
  const Evaluation mine = evaluate(model, method, tok, task, block, task_options, options);
  // as MessagePack: its doubles come back to the bit, and its strings take any bytes a generated
  // prediction may hold
  const std::vector<uint8_t> packed =
      nlohmann::json::to_msgpack(nlohmann::json{{"predictions", mine.predictions}, {"scores", mine.scores}});
  const std::vector<std::string> parts = world.gather(std::string(packed.begin(), packed.end()));
  Evaluation all;
  if (!world.is_root()) return all;
  for (const std::string& part : parts) {
    const nlohmann::json j = nlohmann::json::from_msgpack(part);
    for (const auto& p : j["predictions"]) all.predictions.push_back(p.get<std::string>());
    for (const auto& s : j["scores"])
      all.scores.push_back(s.get<std::vector<std::pair<std::string, double>>>());
  }
  for (const auto& e : examples) all.gold.push_back(task.regression ? e.label : e.response);
  all.metrics = score_examples(task, examples, all.predictions);
  return all;
}

}  // namespace iapt::run
