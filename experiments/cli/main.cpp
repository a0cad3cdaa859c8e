// The iapt command line.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/error.h"
#include "experiments/cli/commands.h"
#include "experiments/version.h"
#include "kernels/backends.h"
#include "kernels/cpu/denormals.h"

int main(int argc, char** argv) {
  iapt::kernels::restart_if_blas_misdetects_cpu(argv);
  iapt::cli::set_command_line(argc, argv);
  iapt::kernels::register_backends();
  CLI::App app{"iapt: instruction-aware prompt tuning of transformer language models"};
  app.set_version_flag("--version", iapt::version_string());
  app.require_subcommand(1);
  iapt::cli::add_demo(app);
  iapt::cli::add_info(app);
  iapt::cli::add_generate(app);
  iapt::cli::add_score(app);
  iapt::cli::add_perplexity(app);
  iapt::cli::add_params(app);
  iapt::cli::add_grads(app);
  iapt::cli::add_run(app);
  iapt::cli::add_sweep(app);
  iapt::cli::add_wordnet(app);
  iapt::cli::add_pretrain(app);
  iapt::cli::add_bench(app);
  iapt::cli::add_export(app);
  iapt::cli::add_tokenize(app);
  iapt::cli::add_rationals(app);
  try {
    iapt::kernels::cpu::flush_denormals_unless_kept();
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {  // iapt::Error and anything a library threw: one line, exit 1
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
