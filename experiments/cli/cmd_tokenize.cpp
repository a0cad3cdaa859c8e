// iapt tokenize: each input line's token ids as a JSON line, {"text": ..., "ids": [...]}, with the
// special tokens the model's tokenizer adds by default. Reads only the directory's tokenizer files
// (tokenizer.model, else tokenizer.json), so it works on a directory without weights.
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "experiments/cli/commands.h"
#include "models/tokenizer.h"

namespace iapt::cli {

void add_tokenize(CLI::App& app) {
  struct Args {
    std::string dir, input;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("tokenize", "Token ids of each input line, as JSON lines, by a model's tokenizer");
  cmd->add_option("--model", a->dir, "model directory (its tokenizer.model or tokenizer.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--input", a->input, "text file, one input per line (default: standard input)")
      ->check(CLI::ExistingFile);
  cmd->callback([a] {
    const auto tok = models::Tokenizer::from_model_dir(a->dir);
    std::ifstream file;
    if (!a->input.empty()) file.open(a->input, std::ios::binary);
    std::istream& in = a->input.empty() ? std::cin : file;
    const std::string source = a->input.empty() ? "standard input" : a->input;
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::vector<int64_t> ids;
      try {
        ids = tok->encode(line);
      } catch (const Error& e) {
        throw Error(fmt::format("{}, line {}: {}", source, number, e.what()));
      }
      fmt::print("{}\n", nlohmann::json{{"text", line}, {"ids", ids}}.dump());
    }
  });
}

}  // namespace iapt::cli
