#include <fmt/format.h>

#include "experiments/cli/commands.h"
#include "experiments/cli/model_options.h"
#include "experiments/cli/validators.h"
#include "models/generation.h"
#include "models/tokenizer.h"

namespace iapt::cli {

void add_generate(CLI::App& app) {
  struct Args {
    ModelOptions model;
    std::vector<std::string> prompts;
    int64_t max_new_tokens = 48;
    int64_t beams = 1;
    models::GenerationOptions sampling;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("generate", "Continue prompts with a model (several --prompt run as one batch)");
  add_model_options(cmd, a->model, true, /*with_adapter=*/true);
  cmd->add_option("--prompt", a->prompts, "prompt text (repeatable)")->required();
  cmd->add_option("--max-new-tokens", a->max_new_tokens, "tokens to generate at most")->check(integer_between(1, kMaxCount));
  cmd->add_option("--beams", a->beams, "beam width (1 = greedy)")->check(integer_between(1, models::kMaxBeams));
  auto* temperature = cmd->add_option("--temperature", a->sampling.temperature,
                                      "sample with this temperature (0: the most likely token)")
                          ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-p", a->sampling.top_p, "sample from the fewest most likely tokens whose probability reaches this")
      ->check(CLI::Range(1e-9, 1.0))
      ->needs(temperature);
  cmd->add_option("--top-k", a->sampling.top_k, "sample from the k most likely tokens (0: all)")
      ->check(integer_between(0, 1 << 30))
      ->needs(temperature);
  cmd->add_option("--seed", a->sampling.seed, "the sampling's seed (the same seed, the same text)")->needs(temperature);
  cmd->callback([a] {
    const LoadedModel m = load_model_and_adapter(a->model);
    const auto& model = m.model;
    const auto& tok = m.tok;
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& p : a->prompts) prompts.push_back(tok->encode(p));
    models::GenerationOptions o = a->sampling;
    o.max_new_tokens = a->max_new_tokens;
    o.beams = a->beams;
    o.eos_id = model->config.eos_token_id;
    o.hooks = m.method.get();  // with --adapter: the run's method (the prompt is its instruction)
    auto results = models::generate(*model, prompts, o);
    for (size_t i = 0; i < results.size(); ++i) {
      if (results.size() > 1) fmt::print("[{}] ", i);
      // decoded together with the prompt, so the space SentencePiece drops at the start of a text stays
      std::vector<int64_t> all = prompts[i];
      all.insert(all.end(), results[i].tokens.begin(), results[i].tokens.end());
      fmt::print("{}\n", tok->decode(all));
    }
  });
}

}  // namespace iapt::cli
