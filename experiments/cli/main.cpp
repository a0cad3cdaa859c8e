// The iapt command line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>

#include "core/backend.h"
#include "core/error.h"
#include "experiments/demo/tiny_lm_demo.h"

int main(int argc, char** argv) {
  CLI::App app{"iapt: instruction-aware prompt tuning of transformer language models"};
  app.require_subcommand(1);

  iapt::demo::TinyLmOptions demo_opt;
  auto* demo = app.add_subcommand("demo", "Train a tiny LLaMA-style model on a synthetic copy task and print the loss");
  demo->add_option("--steps", demo_opt.steps, "training steps")->check(CLI::PositiveNumber);
  demo->add_option("--batch", demo_opt.batch, "sequences per step")->check(CLI::PositiveNumber);
  demo->add_option("--lr", demo_opt.lr, "AdamW learning rate")->check(CLI::PositiveNumber);
  demo->add_option("--seed", demo_opt.seed, "random seed");

  auto* info = app.add_subcommand("info", "Print the backends this build has");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*demo) {
      fmt::print("tiny LM, copy task: vocab {}, sequence {}, dim {}, batch {}, {} steps\n", demo_opt.vocab,
                 2 * demo_opt.half_length, demo_opt.dim, demo_opt.batch, demo_opt.steps);
      auto r = iapt::demo::train_tiny_lm(demo_opt, [&](int64_t step, double loss) {
        if (step % 25 == 0 || step + 1 == demo_opt.steps) {
          fmt::print("step {:4d}  loss {:.4f}\n", step, loss);
          std::fflush(stdout);
        }
      });
      fmt::print("parameters {}, mean step {:.2f} ms, copy accuracy {:.1f}% (chance {:.1f}%)\n", r.parameters,
                 r.mean_step_ms, 100 * r.copy_accuracy, 100.0 / static_cast<double>(demo_opt.vocab));
      fmt::print("loss: first {:.4f} -> last {:.4f}\n", r.losses.front(), r.losses.back());
      return r.losses.back() < r.losses.front() ? 0 : 1;
    }
    if (*info) {
      fmt::print("backends: cpu{}\n", iapt::cuda_compiled() ? ", cuda" : "");
      if (iapt::cuda_compiled())
        fmt::print("cuda: {}\n", iapt::device_available(iapt::Device::CUDA) ? "a GPU is visible" : "no GPU visible");
    }
  } catch (const iapt::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
