// iapt bench serve: batched multi-tenant generation timed, for one method or for all three
// (none, iapt, lora) side by side with their ratios.
#include <fmt/format.h>

#include "core/backend.h"
#include "experiments/bench/step_flops.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/model_options.h"
#include "experiments/serve/serve_bench.h"

namespace iapt::cli {

namespace {

void print_one(const serve::ServeBenchResult& r) {
  fmt::print("| {} | {} | {} | {} | {} | {} | {:.1f} | {:.1f} | {:.2f} | {:.1f} |\n", r.method, r.tenants, r.batch,
             r.prompt_len, r.new_tokens, r.adapter_parameters, r.tokens_per_s, r.ttft_ms, r.tpot_ms, r.peak_mb);
}

}  // namespace

void add_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks of whole workloads");
  bench->require_subcommand(1);
  struct Args {
    ModelOptions model;
    std::string shape, device = "cpu";
    bool header = false;
    serve::ServeBenchOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = bench->add_subcommand("serve", "Batched generation for many tenants on one backbone: tokens/s, TTFT, TPOT");
  auto* model_opt = add_model_options(cmd, a->model, /*required=*/false);
  cmd->add_option("--shape", a->shape, "instead of --model: random weights of a benchmark shape (en-llama-6m, d512)")
      ->excludes(model_opt);
  cmd->add_option("--method", a->o.method, "iapt, lora, none, or all (the three side by side with ratios)")
      ->check(CLI::IsMember({"iapt", "lora", "none", "all"}))
      ->capture_default_str();
  cmd->add_option("--tenants", a->o.tenants)->capture_default_str();
  cmd->add_option("--batch", a->o.batch)->capture_default_str();
  cmd->add_option("--prompt-len", a->o.prompt_len)->capture_default_str();
  cmd->add_option("--new-tokens", a->o.new_tokens)->capture_default_str();
  cmd->add_option("--repeats", a->o.repeats)->capture_default_str();
  cmd->add_option("--lora-batching", a->o.lora_batching, "gather (per-row adapters in one batched product) or loop")
      ->check(CLI::IsMember({"gather", "loop"}))
      ->capture_default_str();
  cmd->add_option("--registry", a->o.registry, "directory of tenants (default: random tenants)");
  cmd->add_option("--iapt", a->o.iapt_method, "IAPT tenants' method section")->capture_default_str();
  cmd->add_option("--lora", a->o.lora_method, "LoRA tenants' method section")->capture_default_str();
  cmd->add_option("--device", a->device)->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_flag("--header", a->header, "print the table's header first");
  cmd->callback([a] {
    const Device device = a->device == "cuda" ? Device::CUDA : Device::CPU;
    IAPT_CHECK(device_available(device), "bench serve: --device {} is not available here", a->device);
    IAPT_CHECK(!a->model.dir.empty() || !a->shape.empty(), "bench serve: --model DIR or --shape NAME");
    auto model = a->model.dir.empty()
                     ? std::make_shared<models::LlamaForCausalLM>(bench::bench_shape(a->shape), precision_of(a->model))
                     : load_model(a->model);
    model->to(device);
    if (a->o.method != "all") {
      if (a->header)
        fmt::print("| method | tenants | batch | prompt | new tokens | adapter parameters | tokens/s | TTFT ms | TPOT ms | "
                   "peak MB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      print_one(serve::bench_serve(model, a->o));
      return;
    }
    std::map<std::string, serve::ServeBenchResult> r;
    for (const char* m : {"none", "iapt", "lora"}) {
      serve::ServeBenchOptions o = a->o;
      o.method = m;
      r[m] = serve::bench_serve(model, o);
    }
    if (a->header)
      fmt::print("| tenants | batch | tokens/s none / IAPT / LoRA | IAPT / none | LoRA / none | IAPT / LoRA | "
                 "TTFT ms none / IAPT / LoRA | TPOT ms none / IAPT / LoRA | peak MB none / IAPT / LoRA |\n"
                 "|---:|---:|---|---:|---:|---:|---|---|---|\n");
    fmt::print("| {} | {} | {:.0f} / {:.0f} / {:.0f} | {:.2f} | {:.2f} | {:.2f} | {:.0f} / {:.0f} / {:.0f} | "
               "{:.1f} / {:.1f} / {:.1f} | {:.0f} / {:.0f} / {:.0f} |\n",
               a->o.tenants, a->o.batch, r["none"].tokens_per_s, r["iapt"].tokens_per_s, r["lora"].tokens_per_s,
               r["iapt"].tokens_per_s / r["none"].tokens_per_s, r["lora"].tokens_per_s / r["none"].tokens_per_s,
               r["iapt"].tokens_per_s / r["lora"].tokens_per_s, r["none"].ttft_ms, r["iapt"].ttft_ms, r["lora"].ttft_ms,
               r["none"].tpot_ms, r["iapt"].tpot_ms, r["lora"].tpot_ms, r["none"].peak_mb, r["iapt"].peak_mb,
               r["lora"].peak_mb);
  });
}

}  // namespace iapt::cli
