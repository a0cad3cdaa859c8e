// iapt export and iapt import: a run's adapter in Hugging Face PEFT's files, and back
// (experiments/run/peft_files.h).
#include <fmt/format.h>

#include "experiments/cli/commands.h"
#include "experiments/run/peft_files.h"

namespace iapt::cli {

void add_export(CLI::App& app) {
  struct Args {
    std::string run, format = "peft", out, peft, config;
  };
  auto a = std::make_shared<Args>();
  auto* ex = app.add_subcommand("export", "Write a run's best adapter as Hugging Face PEFT's adapter_config.json and "
                                          "adapter_model.safetensors");
  ex->add_option("--run", a->run, "the run folder (or its best/)")->required()->check(CLI::ExistingDirectory);
  ex->add_option("--format", a->format, "peft (IAPT, not a PEFT type, in the same files with peft_type IAPT)")
      ->check(CLI::IsMember({"peft"}));
  ex->add_option("out", a->out, "the folder to write")->required();
  ex->callback([a] {
    run::export_peft(a->run, a->out);
    fmt::print("wrote {0}/adapter_config.json and {0}/adapter_model.safetensors\n", a->out);
  });
  auto* im = app.add_subcommand("import", "Make a run folder of a PEFT adapter (LoRA, prompt tuning, prefix tuning, "
                                          "(IA)^3, or an exported IAPT), for eval, generate --adapter and score --adapter");
  im->add_option("peft", a->peft, "PEFT's folder (adapter_config.json, adapter_model.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  im->add_option("--config", a->config, "an experiment giving the backbone, task and the rest (its method is replaced)")
      ->required()
      ->check(CLI::ExistingFile);
  im->add_option("out", a->out, "the run folder to make")->required();
  im->callback([a] {
    const std::string method = run::import_peft(a->peft, a->config, a->out);
    fmt::print("{}: a {} adapter, in {}/best\n", a->out, method, a->out);
  });
}

}  // namespace iapt::cli
