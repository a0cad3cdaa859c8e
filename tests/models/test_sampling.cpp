// Sampled generation: the sampler's draws follow the tempered, top-k and top-p cut distribution,
// and generate() with a seed repeats itself and reduces to greedy decoding where the cut leaves one
// token.
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <vector>

#include "core/rng.h"
#include "models/checkpoint.h"
#include "models/generation.h"

using namespace iapt;

namespace {

// Frequencies of 40,000 draws of sample_token over `lp`.
std::vector<double> frequencies(const std::vector<double>& lp, const models::GenerationOptions& o) {
  std::vector<double> f(lp.size(), 0);
  const int draws = 40000;
  for (int i = 0; i < draws; ++i) f[models::sample_token(lp, o, philox_uniform_f64(7, i))] += 1.0 / draws;
  return f;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("token " << i << ": drawn " << got[i] << ", expected " << want[i]);
    CHECK(std::abs(got[i] - want[i]) < 0.01);  // 40,000 draws: a standard error of at most 0.0025
  }
}

}  // namespace

TEST_CASE("sampling: draws follow the tempered distribution, cut to the top k and the nucleus", "[models][generate]") {
  const std::vector<double> lp{std::log(0.5), std::log(0.25), std::log(0.15), std::log(0.1)};
  models::GenerationOptions o;
  o.temperature = 1;
  expect_near(frequencies(lp, o), {0.5, 0.25, 0.15, 0.1});
  o.temperature = 0.5;  // p^2, renormalised
  const double z = 0.25 + 0.0625 + 0.0225 + 0.01;
  expect_near(frequencies(lp, o), {0.25 / z, 0.0625 / z, 0.0225 / z, 0.01 / z});
  o.temperature = 1, o.top_k = 2;
  expect_near(frequencies(lp, o), {2.0 / 3, 1.0 / 3, 0, 0});
  o.top_k = 0, o.top_p = 0.7;  // 0.5 falls short of 0.7, 0.5 + 0.25 reaches it
  expect_near(frequencies(lp, o), {2.0 / 3, 1.0 / 3, 0, 0});
  o.top_p = 0.5;
  expect_near(frequencies(lp, o), {1, 0, 0, 0});
}

TEST_CASE("sampling: a seed repeats its text, seeds differ, and a cut to one token is greedy", "[models][generate]") {
  auto model = models::load_llama(std::string(IAPT_FIXTURE_DIR) + "/llama-gqa");
  const std::vector<std::vector<int64_t>> prompts{{1, 5, 9}, {1, 7}};
  models::GenerationOptions o;
  o.max_new_tokens = 12;
  o.eos_id = -1;  // every row runs the whole length
  const auto greedy = models::generate(*model, prompts, o);
  o.temperature = 1.5;
  o.seed = 3;
  const auto first = models::generate(*model, prompts, o), again = models::generate(*model, prompts, o);
  std::set<std::vector<int64_t>> texts;
  for (size_t r = 0; r < prompts.size(); ++r) {
    CHECK(first[r].tokens == again[r].tokens);
    CHECK(first[r].logprob == again[r].logprob);
  }
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    o.seed = seed;
    texts.insert(models::generate(*model, prompts, o)[0].tokens);
  }
  CHECK(texts.size() >= 3);  // 12 tokens at temperature 1.5 from a random model: seeds disagree
  o.top_k = 1;
  const auto top1 = models::generate(*model, prompts, o);
  for (size_t r = 0; r < prompts.size(); ++r) CHECK(top1[r].tokens == greedy[r].tokens);
  o.top_k = 0, o.beams = 2;
  CHECK_THROWS_WITH(models::generate(*model, prompts, o), Catch::Contains("sampling (temperature 1.5) takes one beam"));
}
