// iapt score: the summed log-likelihood of each continuation given its context, the way
// evaluation harnesses rank answers. The continuation's tokens are those of encode(context +
// continuation) after the tokens of encode(context), so SentencePiece's treatment of the space
// between them matches the harnesses'.
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "core/error.h"
#include "core/ops.h"
#include "experiments/cli/commands.h"
#include "models/checkpoint.h"
#include "models/tokenizer.h"

namespace iapt::cli {

namespace {

struct Scored {
  double logprob = 0;
  int64_t tokens = 0;
  bool greedy = true;  // every continuation token is the model's argmax
};

Scored score_one(const models::LlamaForCausalLM& model, const models::Tokenizer& tok, const std::string& context,
                 const std::string& continuation) {
  std::vector<int64_t> ctx = tok.encode(context);
  std::vector<int64_t> whole = tok.encode(context + continuation);
  size_t common = 0;  // tokens of the context that survive in the joint encoding
  while (common < ctx.size() && common < whole.size() && ctx[common] == whole[common]) ++common;
  common = std::max<size_t>(common, 1);
  Scored s;
  s.tokens = static_cast<int64_t>(whole.size() - common);
  if (s.tokens == 0) return s;
  NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(whole.size());
  Tensor logits = model.forward(from_ints(whole, {1, n})).data().squeeze(0);  // [n, V]
  Tensor lp = ops::softmax(logits.narrow(0, static_cast<int64_t>(common) - 1, s.tokens), -1, true);
  Tensor best = ops::amax(lp, {1});
  for (int64_t i = 0; i < s.tokens; ++i) {
    const double v = lp.at({i, whole[common + i]});
    s.logprob += v;
    s.greedy = s.greedy && v >= best.at({i});
  }
  return s;
}

}  // namespace

void add_score(CLI::App& app) {
  struct Args {
    std::string model, input, output;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("score", "Log-likelihood of continuations given contexts (JSON lines in and out)");
  cmd->add_option("--model", a->model, "Hugging Face model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--input", a->input, "JSON lines: {\"context\": ..., \"continuation\": ...}")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", a->output, "where to write the scored lines (default: standard output)");
  cmd->callback([a] {
    auto model = models::load_llama(a->model);
    auto tok = models::Tokenizer::from_model_dir(a->model);
    std::ifstream in(a->input);
    std::vector<std::string> out_lines;
    std::string line;
    for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error& e) {
        throw Error(fmt::format("{}:{}: not valid JSON: {}", a->input, line_no, e.what()));
      }
      for (const char* key : {"context", "continuation"})
        IAPT_CHECK(j.is_object() && j.contains(key) && j[key].is_string(), "{}:{}: expected a string field '{}'",
                   a->input, line_no, key);
      Scored s = score_one(*model, *tok, j["context"].get<std::string>(), j["continuation"].get<std::string>());
      j["logprob"] = s.logprob;
      j["tokens"] = s.tokens;
      j["is_greedy"] = s.greedy;
      out_lines.push_back(j.dump());
    }
    if (a->output.empty()) {
      for (const auto& l : out_lines) fmt::print("{}\n", l);
      return;
    }
    const std::string tmp = a->output + ".tmp";
    {
      std::ofstream out(tmp);
      for (const auto& l : out_lines) out << l << '\n';
      IAPT_CHECK(out.good(), "{}: write failed", tmp);
    }
    std::filesystem::rename(tmp, a->output);
  });
}

}  // namespace iapt::cli
