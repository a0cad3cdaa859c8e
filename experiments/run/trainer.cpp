#include "experiments/run/trainer.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "autograd/functions.h"
#include "core/atomic_file.h"
#include "core/backend.h"
#include "kernels/backends.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "experiments/run/batches.h"
#include "experiments/run/data_parallel.h"
#include "experiments/run/json_file.h"
#include "experiments/version.h"
#include "experiments/run/diagnostics.h"
#include "experiments/run/evaluator.h"
#include "experiments/run/finite.h"
#include "experiments/run/fingerprint.h"
#include "experiments/run/lm_loss.h"
#include "experiments/run/resume_checkpoint.h"
#include "experiments/run/run_lock.h"
#include "kernels/cpu/cpu_info.h"
#include "kernels/cpu/denormals.h"
#include "models/checkpoint.h"
#include "optim/communicator.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "optim/two_group_step.h"

namespace iapt::run {

namespace fs = std::filesystem;

namespace {

const std::string kTaskDefs = IAPT_TASK_DEFS_DIR;


// Everything a run needs in memory: model, tokenizer, method, splits.
struct Setup {
  RunConfig config;
  std::shared_ptr<models::LlamaForCausalLM> model;
  std::unique_ptr<models::Tokenizer> tok;
  std::shared_ptr<nn::PeftMethod> method;
  tasks::TaskSpec task;
  tasks::Splits splits;
  Batch probe;            // the first dev examples with their gold responses (diagnostics' start distance)
  Tensor frozen_logits;   // the frozen backbone's on `probe` [B, T, V]
};

std::vector<tasks::Example> first(std::vector<tasks::Example> v, int64_t n) {
  if (n > 0 && static_cast<int64_t>(v.size()) > n) v.resize(n);
  return v;
}

// `probe`: also runs the frozen backbone on the first dev examples, before the method attaches.
Setup build(const RunConfig& c, bool probe = false) {
  Setup s;
  s.config = c;
  manual_seed(c.seed);
  const Device device = c.device == "cuda" ? Device::CUDA : Device::CPU;
  IAPT_CHECK(device_available(device), "{}: device: {} is not available here ({}); use device: cpu", c.file, c.device,
             cuda_compiled() ? "no GPU is visible" : "this build has no CUDA backend");
  s.model = models::load_llama(c.backbone.path, c.backbone.precision());
  s.tok = models::Tokenizer::load(c.tokenizer);
  s.tok->require_fits(s.model->config.vocab_size, c.backbone.path);
  // Batches stay on the CPU: every op that takes ids, masks or labels moves them to its data.
  s.model->to(device);
  s.task = tasks::load_task(c.task.definition.empty() ? c.task.name : c.task.definition, kTaskDefs);
  s.splits = tasks::make_splits(s.task, c.task.data_dir,
                                {.seed = c.task.split_seed, .max_train = c.task.max_train, .carve_train = c.task.carve_train,
                                 .carve_dev = c.task.carve_dev});
  if (probe && !s.splits.dev.empty()) {
    std::vector<Encoded> rows;
    for (size_t i = 0; i < std::min<size_t>(s.splits.dev.size(), static_cast<size_t>(c.training.batch_size)); ++i)
      rows.push_back(encode_example(*s.tok, s.splits.dev[i], c.task.max_length));
    std::vector<const Encoded*> ptrs;
    for (auto& r : rows) ptrs.push_back(&r);
    s.probe = make_batch(ptrs);
    NoGradGuard no_grad;
    models::ForwardInputs in;
    in.attention_mask = s.probe.attention_mask;
    s.frozen_logits = s.model->forward(s.probe.input_ids, in).data();
  }
  // (the probe draws no random numbers: the method starts the same with or without it)
  s.method = config::make_method(c.method, s.model);
  s.method->to(device);
  s.splits.dev = first(std::move(s.splits.dev), c.task.max_dev);
  s.splits.test = first(std::move(s.splits.test), c.task.max_test);
  if (c.task.max_dev > 0) s.splits.protocol += fmt::format("; dev limited to its first {}", s.splits.dev.size());
  if (c.task.max_test > 0) s.splits.protocol += fmt::format("; test limited to its first {}", s.splits.test.size());
  IAPT_CHECK(!s.splits.train.empty() && !s.splits.dev.empty(), "{}: task {} gives an empty train or dev split", c.file,
             c.task.name);
  return s;
}

std::map<std::string, int64_t> response_counts(const std::vector<tasks::Example>& examples) {
  std::map<std::string, int64_t> counts;
  for (const auto& e : examples) ++counts[e.response];
  return counts;
}

// The majority-class baseline: the training split's most frequent response predicted for every
// example, scored with the task's metrics (null for regression and for ranked candidates).
nlohmann::json majority_baseline(const Setup& s) {
  if (s.task.regression || s.task.free_response || s.splits.train.empty()) return nullptr;
  const auto counts = response_counts(s.splits.train);
  const auto top = std::max_element(counts.begin(), counts.end(), [](auto& a, auto& b) { return a.second < b.second; });
  nlohmann::json out{{"response", top->first}};
  for (auto [split, examples] : {std::pair{"dev", &s.splits.dev}, std::pair{"test", &s.splits.test}}) {
    if (examples->empty()) continue;
    std::vector<std::string> gold, predicted(examples->size(), top->first), groups;
    for (const auto& e : *examples) {
      gold.push_back(e.response);
      if (auto g = e.fields.find("group"); g != e.fields.end()) groups.push_back(g->second);
    }
    if (groups.size() != examples->size()) groups.clear();
    out[split] = score(s.task, predicted, gold, groups);
  }
  return out;
}

// Drops a log's lines after `step` (and any line a kill cut short: it came after the checkpoint).
void keep_lines_through(const fs::path& file, int64_t step) {
  std::string text;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded() && j.value("step", int64_t{0}) <= step) text += line + "\n";
  }
  write_text_atomically(file, text);
}

std::string progress_bar(int64_t step, int64_t steps, double loss, double tokens_per_s, double eta_s) {
  const int width = 24, filled = static_cast<int>(width * (step + 1) / std::max<int64_t>(steps, 1));
  return fmt::format("\r[{}{}] {}/{}  loss {:.4f}  {:.0f} tok/s  ETA {:.0f}s ", std::string(filled, '#'),
                     std::string(width - filled, '.'), step + 1, steps, loss, tokens_per_s, eta_s);
}

// Takes the run folder for this process and this config: a folder holding a run of another config
// is refused; a fresh one gets the resolved config.
void claim_run_folder(const fs::path& dir, const std::string& resolved) {
  if (fs::exists(dir / "config.yaml")) {
    std::ifstream in(dir / "config.yaml");
    std::string existing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    IAPT_CHECK(existing == resolved, "{}: this run directory holds a run of another config; choose another name or "
                                     "output_dir, or remove it", dir.string());
  } else {
    write_text_atomically(dir / "config.yaml", resolved);
  }
}

// resolved.yaml: the config with every option of the method too; command.json: the --set
// overrides, and each command that started or resumed the run with the iapt that ran it.
void record_invocation(const RunConfig& c, const fs::path& dir) {
  write_text_atomically(dir / "resolved.yaml", c.to_yaml(/*resolved_method=*/true));
  nlohmann::json record{{"overrides", c.overrides}, {"invocations", nlohmann::json::array()}};
  if (fs::exists(dir / "command.json"))
    record["invocations"] = read_json_file(dir / "command.json").value("invocations", record["invocations"]);
  record["invocations"].push_back({{"command", c.command}, {"iapt", version_string()},
                                   {"resumed", fs::exists(dir / "last" / "state.safetensors")}});
  write_text_atomically(dir / "command.json", record.dump(2) + "\n");
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, std::vector<Variable> params, double lr,
                                                 double weight_decay) {
  std::vector<optim::ParamGroup> g{{"params", std::move(params), lr, weight_decay}};
  if (name == "sgd") return std::make_unique<optim::SGD>(g);
  if (name == "adam") return std::make_unique<optim::Adam>(g);
  return std::make_unique<optim::AdamW>(g);
}

// The run's two optimizer groups: IAPT's rational coefficients learn at training.coefficient_lr
// (bilevel: on training rows held out of the other parameters' batches), everything else at
// training.lr. Without coefficients the second group is empty and never steps.
struct Optimizers {
  std::vector<Variable> coefficients;
  bool bilevel = false;
  std::unique_ptr<optim::Optimizer> main, coef;
};

Optimizers make_optimizers(const RunConfig& c, nn::PeftMethod& method) {
  Optimizers o;
  o.coefficients = method.coefficient_parameters();
  std::vector<Variable> others;
  for (const auto& named : method.canonical_parameters()) {
    const Variable& p = named.second;  // not a structured binding: clang 14 cannot capture one
    if (std::find_if(o.coefficients.begin(), o.coefficients.end(),
                     [&](const Variable& q) { return q.impl() == p.impl(); }) == o.coefficients.end())
      others.push_back(p);
  }
  o.bilevel = method.bilevel_coefficients() && !o.coefficients.empty();
  const TrainingOptions& t = c.training;
  o.main = make_optimizer(t.optimizer, std::move(others), t.lr, t.weight_decay);
  o.coef = make_optimizer(t.optimizer, o.coefficients, t.coefficient_lr, 0.0);
  return o;
}

// Bilevel: every 20th training row goes to the coefficients and leaves `train`; dev stays for early
// stopping and selection alone.
std::vector<Encoded> hold_out_for_coefficients(std::vector<Encoded>& train, const RunConfig& c) {
  std::vector<Encoded> held, kept;
  const size_t total = train.size();
  for (size_t i = 0; i < train.size(); ++i) (i % 20 == 19 ? held : kept).push_back(std::move(train[i]));
  train = std::move(kept);
  IAPT_CHECK(!held.empty() && !train.empty(),
             "{}: method.coefficient_learning: bilevel holds out every 20th training example for the coefficients; "
             "the task has {} training examples, too few", c.file, total);
  return held;
}

// data.json: the task, its split and the counts of each response in each part.
nlohmann::json data_record(const Setup& s, const RunConfig& c, const nlohmann::json& majority) {
  return {{"task", s.task.name},
          {"protocol", s.splits.protocol},
          {"split_seed", c.task.split_seed},
          {"train", s.splits.train.size()},
          {"dev", s.splits.dev.size()},
          {"test", s.splits.test.size()},
          {"responses", {{"train", response_counts(s.splits.train)},
                         {"dev", response_counts(s.splits.dev)},
                         {"test", response_counts(s.splits.test)}}},
          {"majority", majority}};
}

// The weights and optimizer state a checkpoint holds, under the names a resume reads them by.
std::map<std::string, Tensor> checkpoint_tensors(nn::PeftMethod& method, const Optimizers& opt) {
  std::map<std::string, Tensor> t;
  for (auto& [k, v] : method.canonical_state()) t["param." + k] = v;
  for (auto& [k, v] : opt.main->state_dict()) t["opt.main." + k] = v;
  if (!opt.coefficients.empty())
    for (auto& [k, v] : opt.coef->state_dict()) t["opt.coef." + k] = v;
  return t;
}

// Resumes from a checkpoint that matches this run: weights, optimizer state, progress, generator.
Progress resume(const fs::path& state_file, const fs::path& dir, nn::PeftMethod& method, Optimizers& opt,
                const std::string& config_fp, const std::string& data_fp, int64_t steps) {
  SafetensorsFile st = load_safetensors(state_file.string());
  const CheckpointReader ck{st, state_file.string(), dir.string()};
  ck.check_matches(config_fp, data_fp);
  method.load_canonical_state(st.tensors, "param.", state_file.string());
  auto sub = [&](const std::string& prefix) {
    std::map<std::string, Tensor> out;
    for (auto& [k, t] : st.tensors)
      if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = t;
    return out;
  };
  opt.main->load_state_dict(sub("opt.main."), state_file.string());
  if (!opt.coefficients.empty()) opt.coef->load_state_dict(sub("opt.coef."), state_file.string());
  return ck.restore_progress(steps);
}

// The step after which the process kills itself (IAPT_FAULT_KILL_AFTER_STEP), for the tests of resume;
// under several ranks, only rank IAPT_FAULT_KILL_RANK where that is set. -1: never.
int64_t fault_kill_after_step(int rank) {
  const char* value = std::getenv("IAPT_FAULT_KILL_AFTER_STEP");
  const char* only = std::getenv("IAPT_FAULT_KILL_RANK");
  if (value == nullptr || (only != nullptr && std::stoi(only) != rank)) return -1;
  return std::stoll(value);
}

// metrics.jsonl, and progress on stderr (a bar on a terminal, else a line). A resumed run appends
// to its log; a fresh start replaces whatever an earlier attempt logged.
class StepLog {
 public:
  StepLog(const fs::path& file, bool resumed, int64_t steps, int64_t start_step)
      : metrics_(file, resumed ? std::ios::app : std::ios::trunc), steps_(steps), start_step_(start_step),
        terminal_(isatty(fileno(stderr))) {}

  void count_tokens(int64_t tokens) { tokens_ += tokens; }
  // time spent summing gradients over the ranks (data-parallel runs), per step in the next line
  void count_reduction(double seconds) { reduce_seconds_ += seconds, ++reduce_steps_; }

  void write(int64_t step, double loss, double lr) {
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - window_start_).count();
    const double tps = secs > 0 ? static_cast<double>(tokens_) / secs : 0;
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    const double eta = elapsed / static_cast<double>(step + 1 - start_step_) * static_cast<double>(steps_ - step - 1);
    nlohmann::json line{{"step", step + 1}, {"loss", loss}, {"lr", lr}, {"tokens_per_s", tps}};
    if (reduce_steps_ > 0) line["allreduce_ms"] = 1e3 * reduce_seconds_ / static_cast<double>(reduce_steps_);
    metrics_ << line.dump() << '\n';
    metrics_.flush();
    if (terminal_)
      std::fputs(progress_bar(step, steps_, loss, tps, eta).c_str(), stderr);
    else
      std::fprintf(stderr, "step %lld/%lld loss %.4f %.0f tok/s ETA %.0fs\n", static_cast<long long>(step + 1),
                   static_cast<long long>(steps_), loss, tps, eta);
    tokens_ = 0, reduce_seconds_ = 0, reduce_steps_ = 0;
    window_start_ = std::chrono::steady_clock::now();
  }

  void write_dev(int64_t step, const std::map<std::string, double>& metrics, const std::string& name, double value) {
    metrics_ << nlohmann::json{{"step", step + 1}, {"dev", metrics}}.dump() << '\n';
    metrics_.flush();
    if (terminal_) std::fputs("\n", stderr);
    std::fprintf(stderr, "step %lld dev %s %.4f\n", static_cast<long long>(step + 1), name.c_str(), value);
  }

 private:
  std::ofstream metrics_;
  int64_t steps_, start_step_;
  bool terminal_;
  int64_t tokens_ = 0;
  double reduce_seconds_ = 0;
  int64_t reduce_steps_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now(), window_start_ = started_;
};

// The best weights on dev (evaluated again, for the full metric set) and on test, their predictions,
// and summary.json. Every rank evaluates its share; rank 0 writes.
void finish_run(const RunConfig& c, Setup& s, const fs::path& dir, const nlohmann::json& majority, RunSummary& summary,
                std::chrono::steady_clock::time_point started) {
  const optim::Communicator& world = optim::Communicator::world();
  SafetensorsFile best_file = load_safetensors((dir / "best" / "adapter.safetensors").string());
  s.method->load_canonical_state(best_file.tensors, "", (dir / "best" / "adapter.safetensors").string());
  Evaluation dev_ev = evaluate_on_ranks(world, *s.model, *s.method, *s.tok, s.task, s.splits.dev, c.task, c.evaluation);
  Evaluation test_ev;
  if (!s.splits.test.empty())
    test_ev = evaluate_on_ranks(world, *s.model, *s.method, *s.tok, s.task, s.splits.test, c.task, c.evaluation);
  if (!world.is_root()) return;
  summary.dev = dev_ev.metrics;
  write_predictions((dir / "predictions" / "dev.jsonl").string(), s.splits.dev, dev_ev, c.task.data_dir);
  if (!s.splits.test.empty()) {
    summary.test = test_ev.metrics;
    write_predictions((dir / "predictions" / "test.jsonl").string(), s.splits.test, test_ev, c.task.data_dir);
  }
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // the learned rational activations' coefficients (a few numbers per layer): their plots need no weights
  nlohmann::json rationals = nlohmann::json::object();
  for (auto& [name, t] : best_file.tensors)
    if (name.ends_with(".act.numerator") || name.ends_with(".act.denominator")) rationals[name] = t.to_vector();
  write_text_atomically(dir / "summary.json",
                   nlohmann::json{{"name", c.name},
                                  {"seed", c.seed},
                                  {"method", c.method.name},
                                  {"task", s.task.name},
                                  {"tunable_parameters", summary.tunable_parameters},
                                  {"steps", summary.steps},
                                  {"nonfinite_steps", summary.nonfinite_steps},
                                  {"final_loss", summary.final_loss},
                                  {"best_step", summary.best_step},
                                  {"dev_metric", summary.dev_metric},
                                  {"dev", summary.dev},
                                  {"test", summary.test},
                                  {"wall_seconds", summary.wall_seconds},
                                  // BLAS splits products by thread count and picks its kernels by
                                  // CPU, so the last bits (and, through training, more) depend on
                                  // both: what a rerun must match
                                  {"cpu_threads", cpu_threads()},
                                  {"ranks", optim::Communicator::world().size()},  // data-parallel processes
                                  {"cpu", kernels::cpu::cpu_description()},
                                  {"iapt", version_string()},  // the version and source revision
                                  {"denormals", kernels::cpu::flushing_denormals() ? "flushed" : "kept"},
                                  {"device", c.device},
                                  {"resumed", summary.resumed},
                                  {"split_seed", c.task.split_seed},
                                  {"majority", majority},
                                  {"rational_coefficients", rationals},
                                  {"protocol", s.splits.protocol}}
                           .dump(2) +
                       "\n");
}

}  // namespace

// The weights of a new best dev score, with the config that made them; non-finite weights are an
// error, not a best.
void save_best(const Setup& s, const fs::path& dir, const std::string& resolved, int64_t at_step) {
  const auto state = s.method->canonical_state();
  if (const auto bad = first_nonfinite(state))
    throw Error(fmt::format("{}: step {}: parameter {} holds {}; it is not saved as the best weights", s.config.name,
                            at_step, bad->first, show_number(bad->second)));
  save_safetensors((dir / "best" / "adapter.safetensors").string(), state, {{"method", s.config.method.name}});
  write_text_atomically(dir / "best" / "config.yaml", resolved);
}

// After the dev evaluation `ev` of `step`, and early stopping: logs the scores, keeps the best
// weights, and counts evaluations without improvement; true once training.patience of them have
// passed.
bool keep_best(const Setup& s, const Evaluation& ev, const fs::path& dir, const std::string& resolved, int64_t step,
               const std::string& metric, StepLog& log, Progress& progress) {
  const RunConfig& c = s.config;
  const double value = ev.metrics.at(metric);
  log.write_dev(step, ev.metrics, metric, value);
  if (value > progress.best) {
    progress.best = value, progress.best_step = step + 1, progress.bad_evals = 0;
    save_best(s, dir, resolved, step + 1);
    return false;
  }
  return c.training.patience > 0 && ++progress.bad_evals >= c.training.patience;
}

RunSummary train_run(const RunConfig& c) {
  // Data-parallel over the MPI launcher's ranks (one rank: as ever). Each rank builds the same model,
  // data and schedule and evaluates its share of each split; rank 0 alone writes the run folder.
  const optim::Communicator& world = optim::Communicator::world();
  const bool root = world.is_root();
  IAPT_CHECK(world.size() <= c.training.batch_size, "{}: {} ranks share batches of {} rows: fewer ranks, please",
             c.name, world.size(), c.training.batch_size);
  const auto started = std::chrono::steady_clock::now();
  const fs::path dir = c.run_dir();
  const std::string resolved = c.to_yaml();
  // before anything is written: a bad model, task or data file leaves no run behind; the frozen
  // model's probe is needed for a fresh start only (a resumed run has recorded its start already)
  const fs::path state_file = dir / "last" / "state.safetensors";
  Setup s = build(c, /*probe=*/!fs::exists(state_file));
  std::optional<RunFolderLock> lock;
  if (root) {
    fs::create_directories(dir / "best");
    fs::create_directories(dir / "last");
    lock.emplace(dir.string());
    claim_run_folder(dir, resolved);
    record_invocation(c, dir);
  }

  std::vector<Encoded> train;
  for (const auto& e : s.splits.train) train.push_back(encode_example(*s.tok, e, c.task.max_length));
  Optimizers opt = make_optimizers(c, *s.method);
  const std::vector<Encoded> coefficient_rows = opt.bilevel ? hold_out_for_coefficients(train, c) : std::vector<Encoded>{};
  const nlohmann::json majority = majority_baseline(s);
  nlohmann::json data = data_record(s, c, majority);
  if (opt.bilevel) data["coefficient_examples"] = coefficient_rows.size();  // of "train", not in its batches
  if (root) write_text_atomically(dir / "data.json", data.dump(2) + "\n");

  const TrainingOptions& o = c.training;
  optim::TwoGroupStep two_groups(*opt.main, *opt.coef, opt.bilevel, o.max_grad_norm);
  const optim::Schedule schedule{o.schedule, static_cast<int64_t>(o.warmup_ratio * static_cast<double>(o.steps)),
                                 o.steps, 0.0};
  RunSummary summary;
  summary.run_dir = dir.string();
  for (auto& [n, p] : s.method->canonical_parameters()) summary.tunable_parameters += p.data().numel();
  summary.dev_metric = s.task.metrics.front();
  // what a checkpoint must match to be resumed: the config (output_dir aside) and the data split
  const std::string config_fp = config_fingerprint(resolved), data_fp = data_fingerprint(s.splits);
  Progress progress;
  if (fs::exists(state_file)) {
    progress = resume(state_file, dir, *s.method, opt, config_fp, data_fp, o.steps);
    summary.resumed = true;
    if (root) {  // lines logged after the checkpoint will be logged again
      keep_lines_through(dir / "metrics.jsonl", progress.next_step);
      keep_lines_through(dir / "diagnostics.jsonl", progress.next_step);
    }
  }
  std::optional<Diagnostics> diagnostics;
  if (root) {
    diagnostics.emplace((dir / "diagnostics.jsonl").string(), *s.method, o.diagnostics_every, summary.resumed);
    two_groups.inspect_gradients = [&] { diagnostics->read_gradients(); };
  }
  if (root && !summary.resumed && s.frozen_logits.defined()) {  // how far the start is from the frozen model
    NoGradGuard no_grad;
    s.method->set_training(false);
    Variable logits;
    response_loss(*s.model, *s.method, s.probe, &logits);
    diagnostics->write({{"step", 0}, {"start", start_distance(s.frozen_logits, logits.data(), s.probe.attention_mask,
                                                              s.probe.labels)}});
  }

  BatchSchedule batches(train, o.batch_size, c.seed);
  const int64_t kill_after = fault_kill_after_step(world.rank());
  std::optional<StepLog> log;
  if (root) log.emplace(dir / "metrics.jsonl", summary.resumed, o.steps, progress.next_step);
  // every trainable parameter: the gradients the ranks sum
  std::vector<Variable> trained = opt.main->parameters();
  for (auto& p : opt.coef->parameters()) trained.push_back(p);
  for (int64_t step = progress.next_step; step < o.steps; ++step) {
    const double scale = schedule.multiplier(step);
    opt.main->set_lr_scale(scale);
    opt.coef->set_lr_scale(scale);
    s.method->set_training(true);
    double loss_sum = 0;
    auto train_backward = [&] {
      loss_sum = 0;
      for (int64_t micro = 0; micro < o.grad_accumulation; ++micro) {
        const BatchShare b = batches.share(step * o.grad_accumulation + micro, world.rank(), world.size());
        // this rank's mean loss, weighted by its share of the batch's counted tokens (1 alone)
        Variable loss = mul_scalar(response_loss(*s.model, *s.method, b.batch),
                                   b.weight() / static_cast<double>(o.grad_accumulation));
        loss.backward();
        loss_sum += loss.item();
        if (log) log->count_tokens(b.global_tokens);
      }
      if (world.size() > 1) {
        const auto reduce_start = std::chrono::steady_clock::now();
        loss_sum = sum_over_ranks(world, trained, loss_sum);
        if (log) log->count_reduction(std::chrono::duration<double>(std::chrono::steady_clock::now() - reduce_start).count());
      }
      return loss_sum;
    };
    auto coefficient_backward = [&] {  // bilevel: the coefficients' batch, cycling through their held-out rows
      std::vector<const Encoded*> rows;
      for (int64_t i = 0; i < o.batch_size; ++i)
        rows.push_back(&coefficient_rows[(step * o.batch_size + i) % coefficient_rows.size()]);
      response_loss(*s.model, *s.method, make_batch(rows)).backward();
    };
    if (diagnostics) diagnostics->begin_step(step);
    const optim::StepResult stepped = two_groups.step(train_backward, coefficient_backward);
    if (diagnostics) diagnostics->end_step(step);
    if (!stepped.finite) {
      IAPT_CHECK(o.on_nonfinite == "skip",
                 "{}: step {}: the training loss is {} and the gradient norm {}; no parameter was updated and the run "
                 "stops (its last checkpoint is kept). Lower training.lr, or set training.on_nonfinite: skip to pass "
                 "over such steps",
                 c.name, step + 1, show_number(loss_sum), show_number(stepped.grad_norm));
      ++progress.nonfinite_steps;
    }
    progress.final_loss = loss_sum;
    progress.trained_steps = step + 1;
    if (log && ((step + 1) % o.log_every == 0 || step + 1 == o.steps)) log->write(step, loss_sum, o.lr * scale);

    bool stop = false;
    if ((step + 1) % o.eval_every == 0 || step + 1 == o.steps) {
      const Evaluation ev =
          evaluate_on_ranks(world, *s.model, *s.method, *s.tok, s.task, s.splits.dev, c.task, c.evaluation);
      if (root) stop = keep_best(s, ev, dir, resolved, step, summary.dev_metric, *log, progress);
      std::vector<double> decided{stop ? 1.0 : 0.0};  // rank 0's early stop, for every rank
      world.broadcast(decided);
      stop = decided[0] != 0.0;
    }
    // a stopped run checkpoints as finished, so a restart goes straight to the final evaluation
    if (root && ((step + 1) % o.checkpoint_every == 0 || step + 1 == o.steps || stop)) {
      progress.next_step = stop ? o.steps : step + 1;
      save_checkpoint(state_file.string(), checkpoint_tensors(*s.method, opt), progress, config_fp, data_fp);
    }
    if (step + 1 == kill_after) std::raise(SIGKILL);
    if (stop) break;
  }
  summary.steps = progress.trained_steps;
  summary.best_dev = progress.best;
  summary.best_step = progress.best_step;
  summary.final_loss = progress.final_loss;
  summary.nonfinite_steps = progress.nonfinite_steps;
  finish_run(c, s, dir, majority, summary, started);
  world.barrier();  // the other ranks wait for rank 0's summary
  return summary;
}

namespace {

// Where a changed evaluation's predictions go: eval/TASK-SPLIT, and where overrides other than the
// task's identity (name, data_dir, definition) changed it, a fingerprint of them too, so that two
// evaluations under different settings keep their own files.
std::string eval_stem(const std::string& task, const std::string& split, const std::vector<std::string>& overrides) {
  std::vector<std::string> settings;
  for (const auto& o : overrides) {
    const std::string key = o.substr(0, o.find('='));
    if (key != "task.name" && key != "task.data_dir" && key != "task.definition") settings.push_back(o);
  }
  std::sort(settings.begin(), settings.end());
  std::string joined;
  for (const auto& o : settings) joined += o + "\n";
  std::string stem = task + "-" + split;
  if (!settings.empty()) stem.append("-").append(fingerprint(joined), 0, 8);
  return stem;
}

}  // namespace

RunEvaluation evaluate_run(const std::string& run_dir, const std::string& split, const std::vector<std::string>& overrides) {
  IAPT_CHECK(split == "dev" || split == "test", "eval: split '{}' (dev or test)", split);
  const fs::path dir(run_dir);
  IAPT_CHECK(fs::exists(dir / "best" / "adapter.safetensors"), "{}: no best/adapter.safetensors (has the run trained?)",
             run_dir);
  RunConfig c = load_run_config((dir / "config.yaml").string(), overrides);
  Setup s = build(c);
  SafetensorsFile best = load_safetensors((dir / "best" / "adapter.safetensors").string());
  s.method->load_canonical_state(best.tensors, "", (dir / "best" / "adapter.safetensors").string());
  const auto& examples = split == "dev" ? s.splits.dev : s.splits.test;
  Evaluation ev = evaluate(*s.model, *s.method, *s.tok, s.task, examples, c.task, c.evaluation);
  RunEvaluation result{ev.metrics, {}};
  // the run's own evaluation keeps its predictions beside the summary's; a changed one's go to eval/,
  // with the overrides and metrics beside them (STEM.json)
  if (overrides.empty()) {
    result.predictions = (dir / "predictions" / (split + ".jsonl")).string();
  } else {
    const fs::path stem = dir / "eval" / eval_stem(c.task.name, split, overrides);
    result.predictions = stem.string() + ".jsonl";
    fs::create_directories(stem.parent_path());
    write_text_atomically(stem.string() + ".json",
                          nlohmann::json{{"split", split}, {"overrides", overrides}, {"metrics", ev.metrics}}.dump(2) + "\n");
  }
  write_predictions(result.predictions, examples, ev, c.task.data_dir);
  return result;
}

}  // namespace iapt::run
