#include <fmt/format.h>

#include "experiments/cli/commands.h"
#include "experiments/config/peft_config.h"

namespace iapt::cli {

void add_params(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("params", "Tunable parameter count of the configured method and backbone");
  cmd->add_option("--config", *file, "experiment YAML (backbone and method)")->required()->check(CLI::ExistingFile);
  cmd->callback([file] {
    config::PeftConfig c = config::load_peft_config(*file);
    const auto& b = c.backbone.config;
    const int64_t tunable = config::tunable_parameters(b, c.method);
    const int64_t backbone = config::backbone_parameters(b);
    fmt::print("backbone  {} (d={}, {} layers, {} heads / {} kv heads, ffn {}, vocab {}): {} parameters\n",
               c.backbone.path.empty() ? c.backbone.shape_name.empty() ? "inline shape" : c.backbone.shape_name
                                       : c.backbone.path,
               b.hidden_size, b.num_hidden_layers, b.num_attention_heads, b.num_key_value_heads, b.intermediate_size,
               b.vocab_size, backbone);
    fmt::print("method    {}\n", c.method.name);
    fmt::print("tunable   {} ({:.4f}% of the backbone)\n", tunable, 100.0 * static_cast<double>(tunable) / backbone);
  });
}

}  // namespace iapt::cli
