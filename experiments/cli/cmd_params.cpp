#include <fmt/format.h>
#include <set>

#include "experiments/cli/commands.h"
#include "experiments/config/peft_config.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/run_config.h"
#include "experiments/run/sweep.h"

namespace iapt::cli {

namespace {

void print_backbone(const config::BackboneSpec& backbone) {
  const auto& b = backbone.config;
  fmt::print("backbone  {} (d={}, {} layers, {} heads / {} kv heads, ffn {}, vocab {}): {} parameters\n",
             backbone.path.empty() ? backbone.shape_name.empty() ? "inline shape" : backbone.shape_name : backbone.path,
             b.hidden_size, b.num_hidden_layers, b.num_attention_heads, b.num_key_value_heads, b.intermediate_size,
             b.vocab_size, config::backbone_parameters(b));
}

std::string tunable_line(const config::BackboneSpec& backbone, const config::MethodSpec& method) {
  const int64_t tunable = config::tunable_parameters(backbone.config, method);
  return fmt::format("{} ({:.4f}% of the backbone)", tunable,
                     100.0 * static_cast<double>(tunable) / config::backbone_parameters(backbone.config));
}

}  // namespace

void add_params(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("params", "Tunable parameter count of the configured method and backbone");
  cmd->add_option("--config", *file, "YAML with a backbone and a method: a params file, an experiment, or a sweep "
                                     "(one line per configuration)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([file] {
    const YAML::Node root = config::load_yaml_file(*file);
    if (root.IsMap() && root["sweep"]) {  // each configuration of the sweep (its first run)
      const auto runs = run::expand_sweep(*file);
      std::set<std::string> seen;
      for (const auto& r : runs) {
        if (!seen.insert(r.label).second) continue;
        const run::RunConfig c = run::read_run_config(YAML::Clone(r.config), *file + " (" + r.label + ")");
        if (seen.size() == 1) print_backbone(c.backbone);
        fmt::print("{:<24} {:<16} tunable {}\n", r.label, c.method.name, tunable_line(c.backbone, c.method));
      }
      return;
    }
    if (root.IsMap() && (root["task"] || root["training"])) {  // an experiment: what its run trains
      const run::RunConfig c = run::load_run_config(*file);
      print_backbone(c.backbone);
      fmt::print("method    {}\ntunable   {}\n", c.method.name, tunable_line(c.backbone, c.method));
      return;
    }
    const config::PeftConfig c = config::load_peft_config(*file);
    print_backbone(c.backbone);
    fmt::print("method    {}\ntunable   {}\n", c.method.name, tunable_line(c.backbone, c.method));
  });
}

}  // namespace iapt::cli
