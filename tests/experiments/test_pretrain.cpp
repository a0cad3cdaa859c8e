// iapt pretrain on a small corpus written here: the tokenizer is trained, the loss falls, held-out
// perplexity falls, and the directory written loads back as a Hugging Face model that scores the
// held-out text as the run reported.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "experiments/pretrain/pretrain.h"
#include "models/checkpoint.h"
#include "models/evaluation.h"
#include "models/tokenizer/sentencepiece_tokenizer.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {

// Sentences of a small grammar: "the red fox sees a small bird near the river."
std::string corpus_text(int lines, uint64_t seed) {
  const std::vector<std::string> adj{"red", "small", "old", "quiet", "green", "tall"};
  const std::vector<std::string> noun{"fox", "bird", "tree", "river", "house", "child", "stone", "boat"};
  const std::vector<std::string> verb{"sees", "follows", "finds", "passes", "watches"};
  const std::vector<std::string> prep{"near", "under", "behind", "beside"};
  std::string out;
  for (int i = 0; i < lines; ++i) {
    auto pick = [&](const std::vector<std::string>& v, uint64_t k) {
      return v[static_cast<size_t>(philox_uniform_f64(seed, 4 * i + k) * static_cast<double>(v.size())) % v.size()];
    };
    out += fmt::format("the {} {} {} a {} {} {} the {}.\n", pick(adj, 0), pick(noun, 1), pick(verb, 2), pick(adj, 3),
                       pick(noun, 0), pick(prep, 1), pick(noun, 2));
  }
  return out;
}

}  // namespace

TEST_CASE("pretrain: a small model and its tokenizer learn a corpus and load back", "[experiments][pretrain]") {
  const fs::path ws = fs::temp_directory_path() / fmt::format("iapt_pretrain_{}", static_cast<long>(getpid()));
  fs::remove_all(ws);
  fs::create_directories(ws);
  std::ofstream(ws / "corpus.txt") << corpus_text(800, 1);
  std::ofstream(ws / "valid.txt") << corpus_text(40, 2);

  pretrain::PretrainOptions o;
  o.corpus = (ws / "corpus.txt").string();
  o.valid = (ws / "valid.txt").string();
  o.out_dir = (ws / "model").string();
  o.vocab_size = 64;
  o.hidden = 32;
  o.layers = 2;
  o.heads = 2;
  o.kv_heads = 1;
  o.ffn = 64;
  o.sequence = 24;
  o.batch = 8;
  o.steps = 80;
  o.lr = 1e-2;
  int64_t reports = 0;
  auto r = pretrain::pretrain(o, [&](int64_t, int64_t, double, double) { ++reports; });
  CHECK(reports == 2);  // every 50 steps and the last
  CHECK(r.last_loss < r.first_loss - 1.0);
  CHECK(r.valid_nll_after < r.valid_nll_before - 1.0);
  CHECK(r.trained_tokens == 80 * 8 * 24);

  for (const char* f : {"config.json", "model.safetensors", "tokenizer.model", "training.json"})
    CHECK(fs::exists(ws / "model" / f));
  CHECK_FALSE(fs::exists(ws / "model/tokenizer.training.model"));
  auto model = models::load_llama((ws / "model").string());
  models::SentencePieceTokenizer tok((ws / "model/tokenizer.model").string());
  CHECK(model->config.vocab_size == tok.vocab_size());
  CHECK(model->config.num_key_value_heads == 1);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.decode(tok.encode("the old fox sees a tall boat.")) == "the old fox sees a tall boat.");

  // the saved model scores the held-out text as the run did
  std::vector<int64_t> ids;
  std::ifstream in(ws / "valid.txt");
  for (std::string line; std::getline(in, line);) {
    auto t = tok.encode(line, true, true);
    ids.insert(ids.end(), t.begin(), t.end());
  }
  NoGradGuard no_grad;
  CHECK(models::perplexity(*model, ids, o.sequence, o.batch).nll_per_token == Approx(r.valid_nll_after).epsilon(1e-6));
  std::ifstream j(ws / "model/training.json");
  auto training = nlohmann::json::parse(j);
  CHECK(training["steps"] == 80);
  CHECK(training["valid_nll_per_token"].get<double>() == Approx(r.valid_nll_after));
}
