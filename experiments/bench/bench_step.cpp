// Training-step benchmark (not a test): one step of IAPT, LoRA or full fine-tuning on a randomly
// initialised LLaMA-architecture model of a given shape (or a checkpoint, --model), with its weight
// matrices in f32 or 16 bits (--dtype), as the trainer runs it (the response loss, backward,
// global-norm clipping, AdamW). Prints tokens/s, the time of each phase, the achieved GFLOP/s of
// the matrix products, the peak resident memory and, measured in the same process, the GFLOP/s of
// one BLAS sgemm of the model's largest product shape (the ceiling). --json prints one line for
// scripts/bench-step.sh, which runs the PyTorch twin (experiments/bench/step_torch.py) beside it.
#include <cblas.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "core/backend.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/rng.h"
#include "experiments/bench/step_flops.h"
#include "experiments/config/peft_config.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/batches.h"
#include "experiments/run/lm_loss.h"
#include "models/checkpoint.h"
#include "kernels/backends.h"
#include "kernels/cpu/denormals.h"
#include "optim/clip.h"
#include "optim/optimizer.h"

using namespace iapt;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The method as a YAML file would give it: the main comparison's CPU settings.
std::string method_yaml(const std::string& method) {
  if (method == "iapt")
    return "{name: iapt, soft_tokens: 4, bottleneck: 32, pooler: attention, "
           "activation: {kind: rational, version: B, degrees: [6, 5], init: gelu}}";
  if (method == "lora") return "{name: lora, r: 4, alpha: 8, targets: [q, k, v, o, gate, up, down]}";
  return "{name: full}";
}

// ids [B, T] random; the last `response` positions of each row are the response (labels), the
// rest the instruction, no padding.
run::Batch random_batch(int64_t b, int64_t t, int64_t vocab, int64_t response) {
  Tensor u = rand({b, t}, DType::F64);
  std::vector<run::Encoded> rows(b);
  std::vector<const run::Encoded*> pointers;
  for (int64_t r = 0; r < b; ++r) {
    for (int64_t i = 0; i < t; ++i)
      rows[r].ids.push_back(std::min<int64_t>(static_cast<int64_t>(u.data<double>()[r * t + i] * vocab), vocab - 1));
    rows[r].instruction_length = t - response;
    pointers.push_back(&rows[r]);
  }
  return run::make_batch(pointers);
}

double sgemm_gflops(int64_t m, int64_t n, int64_t k) {
  Tensor a = randn({m, k}), w = randn({n, k}), c = empty({m, n});
  double best = 1e30;
  for (int rep = 0; rep < 6; ++rep) {
    auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                1.0f, a.data<float>(), static_cast<int>(k), w.data<float>(), static_cast<int>(k), 0.0f, c.data<float>(),
                static_cast<int>(n));
    if (rep > 0) best = std::min(best, seconds_since(t0));
  }
  return 2.0 * static_cast<double>(m * n * k) / best * 1e-9;
}

// The most this process has held in memory so far, mapped checkpoint pages included.
double peak_resident_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // kB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  iapt::kernels::restart_if_blas_misdetects_cpu(argv);
  iapt::kernels::register_backends();
  iapt::kernels::cpu::flush_denormals_unless_kept();
  CLI::App app{"iapt training-step benchmark"};
  std::string method = "iapt", shape = "en-llama-6m", model_dir, dtype = "f32", compute = "f32";
  int64_t seq = 256, batch = 16, steps = 5, warmup = 2, response = 8;
  bool json = false;
  std::string device_name = "cpu";
  app.add_option("--method", method)->check(CLI::IsMember({"iapt", "lora", "full"}))->capture_default_str();
  app.add_option("--shape", shape, "en-llama-6m (d 256, 6 layers) or d512 (d 512, 8 layers)")
      ->check(CLI::IsMember({"en-llama-6m", "d512"}))
      ->capture_default_str();
  app.add_option("--model", model_dir, "instead of --shape: a Hugging Face model directory")
      ->check(CLI::ExistingDirectory);
  app.add_option("--dtype", dtype, "the weight matrices' dtype (bf16, f16: frozen, half the memory)")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}))
      ->capture_default_str();
  app.add_option("--compute", compute, "the activations' dtype: f32, or --dtype's 16-bit dtype")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}))
      ->capture_default_str();
  app.add_option("--seq", seq)->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--steps", steps, "measured steps (the median is reported)")->capture_default_str();
  app.add_option("--warmup", warmup)->capture_default_str();
  app.add_flag("--json", json, "one JSON line instead of the table");
  app.add_option("--device", device_name)->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  models::Precision precision;
  try {
    precision = models::precision_of(dtype, compute, "--dtype ", "--compute ");
  } catch (const Error& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  }
  manual_seed(1);
  const auto t_load = Clock::now();
  auto model = model_dir.empty() ? std::make_shared<models::LlamaForCausalLM>(bench::bench_shape(shape), precision)
                                 : models::load_llama(model_dir, precision);
  const double load_s = seconds_since(t_load);
  const models::LlamaConfig c = model->config;
  if (!model_dir.empty()) shape = model_dir;
  YAML::Node node = YAML::Load(method_yaml(method));
  auto spec = config::read_method(config::YamlMap(node, "bench", "method"), c);
  auto peft = config::make_method(spec, model);
  const Device device = device_name == "cuda" ? Device::CUDA : Device::CPU;
  if (!device_available(device)) {
    fmt::print(stderr, "--device {}: not available here\n", device_name);
    return 1;
  }
  model->to(device);
  peft->to(device);
  std::vector<Variable> params;
  int64_t trainable = 0;
  for (auto& [name, p] : peft->canonical_parameters()) params.push_back(p), trainable += p.data().numel();
  optim::AdamW opt(params, {.lr = 1e-4, .weight_decay = 0.0});
  run::Batch b = random_batch(batch, seq, c.vocab_size, response);

  std::vector<double> fwd, bwd, upd;
  for (int64_t s = 0; s < warmup + steps; ++s) {
    const Backend& be = backend_for(device);  // GPU work is timed to its end
    auto t0 = Clock::now();
    Variable loss = run::response_loss(*model, *peft, b);
    be.synchronize();
    const double t_fwd = seconds_since(t0);
    t0 = Clock::now();
    opt.zero_grad();
    loss.backward();
    be.synchronize();
    const double t_bwd = seconds_since(t0);
    t0 = Clock::now();
    optim::clip_grad_norm(params, 1.0);
    opt.step();
    be.synchronize();
    const double t_upd = seconds_since(t0);
    if (s >= warmup) fwd.push_back(t_fwd), bwd.push_back(t_bwd), upd.push_back(t_upd);
  }
  const double f = median(fwd), bw = median(bwd), u = median(upd), step = f + bw + u;
  const bench::StepFlops flops = bench::step_flops(c, batch, seq, batch * response, method == "full");
  const double achieved = (flops.forward + flops.backward) / (f + bw) * 1e-9;
  // the ceiling is the CPU's BLAS; on a GPU iapt_bench_cuda measures cuBLAS
  const double peak_mb = peak_resident_mb();  // before the ceiling's own matrices
  const double ceiling = device == Device::CPU ? sgemm_gflops(batch * seq, c.intermediate_size, c.hidden_size) : 0.0;
  const double tokens_per_s = static_cast<double>(batch * seq) / step;

  if (json) {
    nlohmann::ordered_json j{{"framework", "iapt"}, {"method", method},    {"shape", shape},
                             {"dtype", dtype},      {"compute", compute},  {"batch", batch},
                             {"seq", seq},          {"trainable", trainable},
                             {"forward_ms", f * 1e3}, {"backward_ms", bw * 1e3}, {"optimizer_ms", u * 1e3},
                             {"step_ms", step * 1e3}, {"tokens_per_s", tokens_per_s}, {"gflops", achieved},
                             {"gemm_ceiling_gflops", ceiling}, {"peak_resident_mb", peak_mb}, {"load_s", load_s},
                             {"denormals", kernels::cpu::flushing_denormals() ? "flushed" : "kept"}};
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("{} step on {} (d {}, {} layers, ffn {}, vocab {}; weights {}), batch {} x seq {}: {} trainable "
             "parameters; loaded in {:.1f} s; peak resident memory {:.0f} MB\n",
             method, shape, c.hidden_size, c.num_hidden_layers, c.intermediate_size, c.vocab_size,
             compute == "f32" ? dtype : dtype + ", activations " + compute, batch, seq,
             trainable, load_s, peak_mb);
  fmt::print("| phase | ms (median of {}) |\n|---|---:|\n", steps);
  fmt::print("| forward + loss | {:.1f} |\n| backward | {:.1f} |\n| clip + AdamW | {:.1f} |\n| step | {:.1f} |\n", f * 1e3,
             bw * 1e3, u * 1e3, step * 1e3);
  fmt::print("tokens/s {:.0f}; matrix products {:.1f} GFLOP/s (forward {:.2f} + backward {:.2f} GFLOP); "
             "sgemm ceiling [{} x {} x {}] {:.1f} GFLOP/s; ratio {:.2f}\n",
             tokens_per_s, achieved, flops.forward * 1e-9, flops.backward * 1e-9, batch * seq, c.intermediate_size,
             c.hidden_size, ceiling, achieved / ceiling);
  return 0;
}
