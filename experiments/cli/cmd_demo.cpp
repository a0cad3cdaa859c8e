#include <cstdio>
#include <fmt/format.h>

#include "core/backend.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/validators.h"
#include "experiments/demo/tiny_lm_demo.h"
#include "kernels/cpu/cpu_info.h"

namespace iapt::cli {

void add_demo(CLI::App& app) {
  auto opt = std::make_shared<demo::TinyLmOptions>();
  auto* cmd = app.add_subcommand("demo", "Train a tiny LLaMA-style model on a synthetic copy task and print the loss");
  cmd->add_option("--steps", opt->steps, "training steps")->check(integer_between(1, kMaxCount));
  cmd->add_option("--batch", opt->batch, "sequences per step")->check(integer_between(1, kMaxCount));
  cmd->add_option("--lr", opt->lr, "AdamW learning rate")->check(positive_number());
  cmd->add_option("--seed", opt->seed, "random seed");
  cmd->callback([opt] {
    const auto& o = *opt;
    fmt::print("tiny LM, copy task: vocab {}, sequence {}, dim {}, batch {}, {} steps\n", o.vocab, 2 * o.half_length,
               o.dim, o.batch, o.steps);
    auto r = demo::train_tiny_lm(o, [&](int64_t step, double loss) {
      if (step % 25 == 0 || step + 1 == o.steps) {
        fmt::print("step {:4d}  loss {:.4f}\n", step, loss);
        std::fflush(stdout);
      }
    });
    fmt::print("parameters {}, mean step {:.2f} ms, copy accuracy {:.1f}% (chance {:.1f}%)\n", r.parameters,
               r.mean_step_ms, 100 * r.copy_accuracy, 100.0 / static_cast<double>(o.vocab));
    fmt::print("loss: first {:.4f} -> last {:.4f}\n", r.losses.front(), r.losses.back());
    if (!(r.losses.back() < r.losses.front())) throw CLI::RuntimeError("the loss did not fall", 1);
  });
}

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print the backends this build has and the CPU's BLAS kernels");
  cmd->callback([] {
    fmt::print("backends: cpu{}\n", cuda_compiled() ? ", cuda" : "");
    fmt::print("cpu: {}\n", kernels::cpu::cpu_description());
    // what scripts/bench-step.sh gives PyTorch, which loads the same OpenBLAS, as OPENBLAS_CORETYPE
    fmt::print("openblas core: {}\n", kernels::cpu::blas_core());
    if (cuda_compiled())
      fmt::print("cuda: {}\n", device_available(Device::CUDA) ? "a GPU is visible" : "no GPU visible");
  });
}

}  // namespace iapt::cli
