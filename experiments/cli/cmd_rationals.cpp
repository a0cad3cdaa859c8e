#include <fmt/format.h>

#include "experiments/cli/commands.h"
#include "experiments/run/rational_layers.h"

namespace iapt::cli {

void add_rationals(CLI::App& app) {
  struct Args {
    std::string sweep, label;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("rationals",
                                 "Whether a configuration's learned rational activations differ by layer, "
                                 "over its seeds (permutation test of the layer labels)");
  cmd->add_option("sweep", a->sweep, "the sweep's output directory (output_dir/NAME)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--config", a->label, "the configuration's label (e.g. iapt)")->required();
  cmd->callback([a] {
    const run::RationalLayerTest t = run::rational_layer_test(a->sweep, a->label);
    fmt::print("| layer | RMS distance from the start, mean over {} seeds |\n|---:|---:|\n", t.seeds.size());
    for (size_t l = 0; l < t.layers.size(); ++l) fmt::print("| {} | {:.4f} |\n", t.layers[l], t.from_start[l]);
    auto shuffles = [](const run::LabelShuffleTest& s) {
      return fmt::format("{} {}", s.shuffles, s.exact ? "labellings, every one" : "seeded draws");
    };
    fmt::print(
        "\n{} of {}: RMS distance on [{}, {}] between two layers of one seed {:.4f}, between two seeds of one "
        "layer {:.4f}\n",
        a->label, a->sweep, run::kRationalGridLo, run::kRationalGridHi, t.between_layers, t.between_seeds);
    fmt::print(
        "layer labels shuffled within each seed: the same function per layer p = {:.4g} ({}); the same rank of "
        "the distance from the start per layer p = {:.4g} ({})\n",
        t.shape.p_value, shuffles(t.shape), t.change.p_value, shuffles(t.change));
  });
}

}  // namespace iapt::cli
