// iapt_data_parallel_f64_check, under an MPI launcher with 2 processes: IAPT on a tiny f64 LLaMA,
// 5 Adam steps on global batches of 16 taken as the trainer takes them on 2 ranks (each rank its
// rows, its loss weighted by its share of the counted tokens, gradients and loss summed over the
// ranks). Every rank also trains the same start alone on the whole batches, as one process does;
// after each step the losses and the parameters must agree to 1e-12. Exit 77 (skipped) where the
// build has no MPI.
#include <cmath>
#include <fmt/format.h>

#include "autograd/functions.h"
#include "core/rng.h"
#include "experiments/config/peft_config.h"
#include "experiments/run/batches.h"
#include "experiments/run/data_parallel.h"
#include "experiments/run/lm_loss.h"
#include "kernels/backends.h"
#include "nn/peft/iapt.h"
#include "optim/optimizer.h"
#include "tests/dist/dist_checks.h"
#include "tests/tiny_llama.h"

using namespace iapt;

namespace {

struct Trainee {
  std::shared_ptr<models::LlamaForCausalLM> model;
  std::shared_ptr<nn::PeftMethod> method;
  std::vector<Variable> params;
  std::unique_ptr<optim::Adam> adam;
};

// The same start every time: the same seed, model, method and optimizer.
Trainee make_trainee() {
  Trainee t;
  manual_seed(7);
  t.model = std::make_shared<models::LlamaForCausalLM>(testing::tiny_llama_config(), DType::F64);
  config::MethodSpec spec = config::method_defaults("iapt");
  auto& o = std::any_cast<nn::IaptOptions&>(spec.options);
  o.soft_tokens = 3;
  o.bottleneck = 4;
  o.activation.rational = {3, 2, RationalVersion::B, "gelu"};
  t.method = config::make_method(spec, t.model, DType::F64);
  for (auto& [name, p] : t.method->canonical_parameters()) t.params.push_back(p);
  optim::AdamOptions a;
  a.lr = 1e-2;
  t.adam = std::make_unique<optim::Adam>(std::vector<optim::ParamGroup>{{"all", t.params, a.lr, 0.0}}, a, true);
  return t;
}

// 40 examples of 6 to 13 tokens in the tiny vocabulary, 2 to 5 of them the instruction.
std::vector<run::Encoded> examples() {
  std::vector<run::Encoded> out;
  for (int i = 0; i < 40; ++i) {
    run::Encoded e;
    const int n = 6 + (i * 7) % 8;
    for (int j = 0; j < n; ++j) e.ids.push_back(3 + (i * 11 + j * 5) % 27);
    e.instruction_length = 2 + i % 4;
    out.push_back(e);
  }
  return out;
}

}  // namespace

int main() {
  if (testing::skip_without_mpi("data-parallel f64 equality")) return 77;
  kernels::register_backends();
  const optim::Communicator& world = optim::Communicator::world();
  if (world.size() != 2) {
    fmt::print(stderr, "FAIL: run under an MPI launcher with 2 processes (got {})\n", world.size());
    return 1;
  }
  const std::vector<run::Encoded> data = examples();
  run::BatchSchedule ranks_batches(data, 16, 5), whole_batches(data, 16, 5);
  Trainee shared = make_trainee(), alone = make_trainee();
  double worst_loss = 0, worst_param = 0;
  for (int64_t step = 0; step < 5; ++step) {
    shared.adam->zero_grad();
    const run::BatchShare mine = ranks_batches.share(step, world.rank(), world.size());
    Variable loss = mul_scalar(run::response_loss(*shared.model, *shared.method, mine.batch), mine.weight());
    loss.backward();
    const double shared_loss = run::sum_over_ranks(world, shared.params, loss.item());
    shared.adam->step();

    alone.adam->zero_grad();
    Variable whole = run::response_loss(*alone.model, *alone.method, whole_batches.at(step));
    whole.backward();
    alone.adam->step();

    worst_loss = std::max(worst_loss, std::abs(shared_loss - whole.item()) / std::abs(whole.item()));
    for (size_t i = 0; i < shared.params.size(); ++i)
      worst_param = std::max(worst_param, testing::normwise_relative(alone.params[i].data().to_vector(),
                                                                         shared.params[i].data().to_vector()));
  }
  const bool ok = worst_loss <= 1e-12 && worst_param <= 1e-12;
  fmt::print("rank {}: 5 steps of 16 on 2 ranks against one process, f64: losses {:.3g}, parameters {:.3g} "
             "(normwise relative, worst over steps): {}\n",
             world.rank(), worst_loss, worst_param, ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
