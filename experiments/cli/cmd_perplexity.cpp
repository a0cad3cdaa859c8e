// iapt perplexity: mean negative log-likelihood per predicted token over a text file, with the
// protocol of the en-llama models' training.json (models/evaluation.h).
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/model_options.h"
#include "experiments/cli/validators.h"
#include "models/evaluation.h"
#include "models/tokenizer.h"

namespace iapt::cli {

void add_perplexity(CLI::App& app) {
  struct Args {
    ModelOptions model;
    std::string text, format = "raw";
    int64_t max_tokens = 0, window = 256, batch = 8;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a plain-text file");
  add_model_options(cmd, a->model);
  cmd->add_option("--text", a->text, "plain-text file (decompress .gz files first)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--max-tokens", a->max_tokens, "use at most this many tokens of the stream (0 = all)");
  cmd->add_option("--window", a->window, "tokens per window")->check(integer_between(2, 1 << 20));
  cmd->add_option("--batch", a->batch, "windows per forward pass")->check(integer_between(1, kMaxCount));
  cmd->add_option("--format", a->format, "raw | paragraphs")->check(CLI::IsMember({"raw", "paragraphs"}));
  cmd->callback([a] {
    auto model = load_model(a->model);
    auto tok = models::Tokenizer::from_model_dir(a->model.dir);
    tok->require_fits(model->config.vocab_size, a->model.dir);
    std::ifstream in(a->text, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    IAPT_CHECK(text.size() < 2 || !(static_cast<unsigned char>(text[0]) == 0x1f && static_cast<unsigned char>(text[1]) == 0x8b),
               "{}: this is a gzip file; decompress it first (gunzip -k)", a->text);
    std::vector<int64_t> ids = models::token_stream(*tok, text, a->format);
    if (a->max_tokens > 0 && static_cast<int64_t>(ids.size()) > a->max_tokens) ids.resize(a->max_tokens);
    models::PerplexityResult r = models::perplexity(*model, ids, a->window, a->batch);
    fmt::print("{} tokens in {} windows of up to {} ({} format); predicted {}; NLL/token {:.4f}; perplexity {:.2f}\n",
               r.tokens, r.windows, a->window, a->format, r.predicted, r.nll_per_token, r.perplexity());
  });
}

}  // namespace iapt::cli
