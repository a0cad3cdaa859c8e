#pragma once
// Subcommands of the iapt command line; each adds itself to the app with its options and callback.
#include <CLI/CLI.hpp>
#include <string>

namespace iapt::cli {

void add_demo(CLI::App& app);
void add_info(CLI::App& app);
void add_generate(CLI::App& app);
void add_score(CLI::App& app);
void add_perplexity(CLI::App& app);
void add_params(CLI::App& app);
void add_grads(CLI::App& app);
void add_run(CLI::App& app);    // run and eval
void add_sweep(CLI::App& app);  // sweep and report
void add_wordnet(CLI::App& app);
void add_pretrain(CLI::App& app);
void add_bench(CLI::App& app);  // bench serve
void add_export(CLI::App& app);  // export and import (PEFT's files)
void add_tokenize(CLI::App& app);
void add_rationals(CLI::App& app);

// The command line this process was started with, as a shell would take it back (set by main).
void set_command_line(int argc, char** argv);
const std::string& command_line();

}  // namespace iapt::cli
