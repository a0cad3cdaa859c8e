// iapt score: the summed log-likelihood of each continuation given its context (models/evaluation.h).
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/model_options.h"
#include "models/evaluation.h"
#include "models/tokenizer.h"

namespace iapt::cli {

void add_score(CLI::App& app) {
  struct Args {
    ModelOptions model;
    std::string input, output;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("score", "Log-likelihood of continuations given contexts (JSON lines in and out)");
  add_model_options(cmd, a->model);
  cmd->add_option("--input", a->input, "JSON lines: {\"context\": ..., \"continuation\": ...}")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", a->output, "where to write the scored lines (default: standard output)");
  cmd->callback([a] {
    auto model = load_model(a->model);
    auto tok = models::Tokenizer::from_model_dir(a->model.dir);
    tok->require_fits(model->config.vocab_size, a->model.dir);
    std::ifstream in(a->input);
    std::vector<std::string> out_lines;
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
      models::ContinuationScore s;
      try {
        s = models::score_continuation(*model, *tok, j["context"].get<std::string>(), j["continuation"].get<std::string>());
      } catch (const Error& e) {
        throw Error(fmt::format("{}:{}: {}", a->input, line_no, e.what()));
      }
      j["logprob"] = s.logprob;
      j["tokens"] = s.tokens;
      j["is_greedy"] = s.is_greedy;
      out_lines.push_back(j.dump());
    }
    if (a->output.empty()) {
      for (const auto& l : out_lines) fmt::print("{}\n", l);
      return;
    }
    std::string text;
    for (const auto& l : out_lines) text += l + '\n';
    write_text_atomically(a->output, text);
  });
}

}  // namespace iapt::cli
