// iapt score: the summed log-likelihood of each continuation given its context (models/evaluation.h).
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/model_options.h"
#include "experiments/cli/validators.h"
#include "models/evaluation.h"
#include "models/tokenizer.h"

namespace iapt::cli {

void add_score(CLI::App& app) {
  struct Args {
    ModelOptions model;
    std::string input, output, padding = "right";
    int64_t batch_size = 16;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("score", "Log-likelihood of continuations given contexts (JSON lines in and out)");
  add_model_options(cmd, a->model, true, /*with_adapter=*/true);
  cmd->add_option("--input", a->input, "JSON lines: {\"context\": ..., \"continuation\": ...}")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", a->output, "where to write the scored lines (default: standard output)");
  cmd->add_option("--batch-size", a->batch_size, "pairs scored at once (1: one at a time); pairs of similar length share "
                                                 "a batch, the output keeps the input's order")
      ->check(integer_between(1, 4096));
  cmd->add_option("--padding", a->padding, "where a batch's shorter pairs are padded")
      ->check(CLI::IsMember({"right", "left"}));
  cmd->callback([a] {
    const LoadedModel m = load_model_and_adapter(a->model);
    std::ifstream in(a->input);
    std::vector<nlohmann::json> lines;
    std::vector<std::pair<std::string, std::string>> pairs;
    std::vector<std::string> where;  // "file:line" of each pair, for errors
    std::string line;
    for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number past double
        throw Error(fmt::format("{}:{}: not valid JSON: {}", a->input, line_no, e.what()));
      }
      for (const char* key : {"context", "continuation"})
        IAPT_CHECK(j.is_object() && j.contains(key) && j[key].is_string(), "{}:{}: expected a string field '{}'",
                   a->input, line_no, key);
      pairs.emplace_back(j["context"].get<std::string>(), j["continuation"].get<std::string>());
      where.push_back(fmt::format("{}:{}", a->input, line_no));
      lines.push_back(std::move(j));
    }
    std::vector<models::ContinuationScore> scores;
    if (a->batch_size == 1) {  // one pair at a time, each its own forward pass
      for (size_t i = 0; i < pairs.size(); ++i) {
        try {
          scores.push_back(models::score_continuation(*m.model, *m.tok, pairs[i].first, pairs[i].second, m.method.get()));
        } catch (const Error& e) {
          throw Error(fmt::format("{}: {}", where[i], e.what()));
        }
      }
    } else {
      scores = models::score_continuations(*m.model, *m.tok, pairs, a->batch_size, a->padding == "left", where,
                                           m.method.get());
    }
    std::string text;
    for (size_t i = 0; i < lines.size(); ++i) {
      lines[i]["logprob"] = scores[i].logprob;
      lines[i]["tokens"] = scores[i].tokens;
      lines[i]["is_greedy"] = scores[i].is_greedy;
      text += lines[i].dump() + '\n';
    }
    if (a->output.empty()) {
      fmt::print("{}", text);
      return;
    }
    write_text_atomically(a->output, text);
  });
}

}  // namespace iapt::cli
