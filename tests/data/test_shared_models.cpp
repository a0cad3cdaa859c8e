// End-to-end tests on the real models and data of the shared folder (IAPT_SHARED, by default the
// `shared` folder beside the repository). Without it this program reports itself skipped (exit 77).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "core/ops.h"
#include "models/checkpoint.h"
#include "models/evaluation.h"
#include "models/generation.h"
#include "models/tokenizer.h"
#include "experiments/run/sweep.h"
#include "experiments/tasks/task.h"
#include "kernels/backends.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {

std::string shared_dir() {
  const char* env = std::getenv("IAPT_SHARED");
  return env && *env ? env : IAPT_DEFAULT_SHARED_DIR;
}
std::string model_dir() { return shared_dir() + "/models/en-llama-6m"; }

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  CHECK(pclose(pipe) == 0);
  return out;
}

// The first `bytes` of the held-out books (gzip is part of every Debian system).
std::string valid_text_prefix(size_t bytes) {
  return run_command("gzip -dc '" + shared_dir() + "/data/corpus/english_books/valid.txt.gz' | head -c " +
                     std::to_string(bytes));
}

struct Loaded {
  std::shared_ptr<models::LlamaForCausalLM> model;
  std::unique_ptr<models::Tokenizer> tok;
};
Loaded& loaded() {
  static Loaded l{models::load_llama(model_dir()), models::Tokenizer::from_model_dir(model_dir())};
  return l;
}

}  // namespace

TEST_CASE("en-llama-6m: loads with the size its card states", "[shared]") {
  auto& m = *loaded().model;
  CHECK(m.parameter_count() == 6450432);
  CHECK(m.config.num_key_value_heads == 4);
  CHECK(m.config.tie_word_embeddings);
  CHECK(loaded().tok->vocab_size() == 8192);
}

TEST_CASE("en-llama-6m: the tokenizer adds BOS and round-trips text", "[shared]") {
  const auto& tok = *loaded().tok;
  const std::string text = "It was the best of times, it was the worst of times.";
  auto ids = tok.encode(text);
  CHECK(ids.front() == 1);
  CHECK(ids.size() > 10);
  CHECK(tok.decode(ids) == text);
}

TEST_CASE("en-llama-6m: greedy generation continues a prompt with English words", "[shared]") {
  const auto& tok = *loaded().tok;
  models::GenerationOptions o;
  o.max_new_tokens = 24;
  auto prompt = tok.encode("Once upon a time there was a little girl who");
  auto out = models::generate(*loaded().model, {prompt}, o);
  const std::string text = tok.decode(out[0].tokens);
  INFO("continuation: " << text);
  int words = 0, letters = 0;
  bool in_word = false;
  for (char c : text) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c));
    letters += alpha;
    words += alpha && !in_word;
    in_word = alpha;
  }
  CHECK(words >= 8);
  CHECK(letters >= static_cast<int>(text.size()) / 2);
}

TEST_CASE("en-llama-6m: held-out perplexity is near its card's and far below a random model's", "[shared]") {
  const auto& tok = *loaded().tok;
  auto ids = models::token_stream(tok, valid_text_prefix(40000), "raw");
  ids.resize(std::min<size_t>(ids.size(), 16 * 256));
  auto trained = models::perplexity(*loaded().model, ids, 256, 8);
  manual_seed(0);
  models::LlamaForCausalLM random_model(loaded().model->config);
  for (auto& [name, p] : random_model.named_parameters())
    if (name.find("norm") == std::string::npos) p.data().copy_(ops::mul_scalar(randn(p.shape()), 0.02));  // HF initializer_range
  auto untrained = models::perplexity(random_model, ids, 256, 8);
  INFO("trained NLL " << trained.nll_per_token << ", random NLL " << untrained.nll_per_token);
  // The card: 5.448 over the whole file in this raw protocol; the first 4k tokens are close to it.
  CHECK(trained.nll_per_token < 6.0);
  CHECK(trained.nll_per_token > 4.5);
  CHECK(untrained.nll_per_token > 8.5);  // ln(8192) = 9.01
}

TEST_CASE("en-llama-6m: perplexity with bf16 and f16 weights within 0.5% of f32's", "[shared][half]") {
  // The weights rounded to 16 bits (relative error up to 2^-9 for bf16, 2^-12 for f16), activations
  // and the loss in f32: the issue's bound for bf16 is 0.5% of the perplexity. Then the same with
  // the activations in the weights' dtype too (compute: bf16 / f16), every op's result rounded.
  const auto& tok = *loaded().tok;
  auto ids = models::token_stream(tok, valid_text_prefix(40000), "raw");
  ids.resize(std::min<size_t>(ids.size(), 8 * 256));
  const double f32 = models::perplexity(*loaded().model, ids, 256, 8).perplexity();
  for (DType weights : {DType::BF16, DType::F16}) {
    auto model = models::load_llama(model_dir(), models::Precision{DType::F32, weights});
    REQUIRE(model->model->layers[0]->mlp->up_proj->weight.dtype() == weights);
    REQUIRE(model->model->norm->weight.dtype() == DType::F32);
    // only the norms' weights (f32) could train; every matrix is frozen
    const int64_t norms = model->model->norm->weight.data().numel() * (2 * model->config.num_hidden_layers + 1);
    CHECK(model->trainable_parameter_count() == norms);
    const double low = models::perplexity(*model, ids, 256, 8).perplexity();
    auto all16 = models::load_llama(model_dir(), models::Precision{DType::F32, weights, true});
    const double lowest = models::perplexity(*all16, ids, 256, 8).perplexity();
    INFO(dtype_name(weights) << " perplexity " << low << ", with " << dtype_name(weights) << " activations "
                             << lowest << ", against f32's " << f32);
    CHECK(std::abs(low / f32 - 1) < 0.005);
    CHECK(lowest != low);
    CHECK(std::abs(lowest / f32 - 1) < 0.005);
  }
}

TEST_CASE("en-llama-6m: iapt score ranks a likely continuation above an unlikely one", "[shared]") {
  fs::path dir = fs::temp_directory_path() / "iapt_tests";
  fs::create_directories(dir);
  const fs::path in = dir / "score_in.jsonl", out = dir / "score_out.jsonl";
  {
    std::ofstream f(in);
    f << R"({"context": "It was a dark and stormy", "continuation": " night"})" << '\n'
      << R"({"context": "It was a dark and stormy", "continuation": " banana"})" << '\n';
  }
  run_command(std::string(IAPT_CLI) + " score --model '" + model_dir() + "' --input '" + in.string() + "' --output '" +
              out.string() + "'");
  std::ifstream f(out);
  std::string l1, l2;
  REQUIRE(std::getline(f, l1));
  REQUIRE(std::getline(f, l2));
  auto a = nlohmann::json::parse(l1), b = nlohmann::json::parse(l2);
  CHECK(a["tokens"].get<int>() >= 1);
  CHECK(a["logprob"].get<double>() < 0);
  CHECK(a["logprob"].get<double>() > b["logprob"].get<double>());
  CHECK(a["context"] == "It was a dark and stormy");
  // the library call gives the same number: one pair at a time exactly, the CLI's batch of both
  // pairs up to the products' last bits (tests/models/test_score_batches.cpp)
  auto s = models::score_continuation(*loaded().model, *loaded().tok, "It was a dark and stormy", " night");
  CHECK(s.logprob == Approx(a["logprob"].get<double>()).epsilon(1e-6));
  run_command(std::string(IAPT_CLI) + " score --batch-size 1 --model '" + model_dir() + "' --input '" + in.string() +
              "' --output '" + out.string() + "'");
  std::ifstream one_at_a_time(out);
  REQUIRE(std::getline(one_at_a_time, l1));
  CHECK(s.logprob == Approx(nlohmann::json::parse(l1)["logprob"].get<double>()).epsilon(1e-9));
}

TEST_CASE("shared data: every task's official files read with their documented row counts", "[shared]") {
  const std::string data = shared_dir() + "/data", defs = std::string(IAPT_SOURCE_DIR) + "/experiments/tasks/defs";
  struct Expect {
    const char* task;
    int64_t train, dev;  // -1: no file in the shared data
  };
  for (Expect e : {Expect{"sst2", 67349, 872}, Expect{"rte", 2490, 277}, Expect{"mrpc", 3668, 408},
                   Expect{"cola", 8551, 1043}, Expect{"stsb", 5749, 1500}, Expect{"qnli", -1, 5463},
                   Expect{"boolq", -1, 3270}, Expect{"copa", 400, 100}, Expect{"cb", 250, 56}, Expect{"wic", 5428, 638},
                   Expect{"wsc", 554, 104}}) {
    INFO(e.task);
    tasks::TaskSpec t = tasks::load_task(e.task, defs);
    if (e.train >= 0) CHECK(static_cast<int64_t>(tasks::read_split(t, data, "train").size()) == e.train);
    CHECK(static_cast<int64_t>(tasks::read_split(t, data, "dev").size()) == e.dev);
  }
  auto multirc = tasks::read_split(tasks::load_task("multirc", defs), data, "dev");
  CHECK(multirc.size() > 83);  // one example per answer of the 83 passages
  tasks::Splits sst2 = tasks::make_splits(tasks::load_task("sst2", defs), data, {.seed = 1});
  CHECK(sst2.dev.size() == 1000);
  CHECK(sst2.test.size() == 872);
}

TEST_CASE("shared data: every CPU experiment config expands into valid runs", "[shared]") {
  setenv("IAPT_SHARED", shared_dir().c_str(), 1);
  const std::string configs = std::string(IAPT_SOURCE_DIR) + "/experiments/configs";
  int files = 0;
  for (auto& f : fs::directory_iterator(configs)) {
    if (!f.path().string().ends_with("_cpu.yaml")) continue;
    INFO(f.path().string());
    auto runs = run::expand_sweep(f.path().string());
    CHECK(runs.size() >= 3);
    ++files;
  }
  CHECK(files >= 5);
}

int main(int argc, char** argv) {
  iapt::kernels::restart_if_blas_misdetects_cpu(argv);
  iapt::kernels::register_backends();
  if (!fs::exists(model_dir() + "/config.json")) {
    std::printf("SKIPPED: %s not found (set IAPT_SHARED to the shared folder); 7 end-to-end tests not run\n",
                model_dir().c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
