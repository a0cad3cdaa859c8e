// Continuations scored in padded batches (models::score_continuations) against one pair at a time
// (models::score_continuation, its own forward pass each), on the tiny fixture model.
#include <catch2/catch.hpp>
#include <cmath>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/checkpoint.h"
#include "models/evaluation.h"
#include "models/tokenizer/sentencepiece_tokenizer.h"

using namespace iapt;

TEST_CASE("score: pairs in padded batches, on the right or the left, score as one at a time", "[models][score]") {
  auto model = models::load_llama(std::string(IAPT_FIXTURE_DIR) + "/llama-gqa");
  models::SentencePieceTokenizer tok(IAPT_FIXTURE_DIR "/tiny-tokenizer/tokenizer.model");
  // lengths from one token to most of the model's 64 positions, an empty continuation among them
  const char* words[] = {"the", "film", "was", "good", "bad", "plot", "cast", "music", "great", "dull"};
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 23; ++i) {
    std::string context = "the";
    for (int k = 0; k < (i * 7) % 11; ++k) context += std::string(" ") + words[(i + k * 3) % 10];
    std::string continuation;
    for (int k = 0; k <= i % 4; ++k) continuation += std::string(" ") + words[(i * 5 + k) % 10];
    pairs.emplace_back(context, i == 6 ? "" : continuation);
  }
  std::vector<models::ContinuationScore> one;
  for (const auto& [c, x] : pairs) one.push_back(models::score_continuation(*model, tok, c, x));
  for (const bool left : {false, true})
    for (const int64_t batch : {4, 7, 64}) {
      INFO(fmt::format("{}-padded batches of {}", left ? "left" : "right", batch));
      const auto batched = models::score_continuations(*model, tok, pairs, batch, left);
      REQUIRE(batched.size() == pairs.size());
      double worst = 0;
      for (size_t i = 0; i < pairs.size(); ++i) {
        INFO("pair " << i << ": '" << pairs[i].first << "' + '" << pairs[i].second << "'");
        CHECK(batched[i].tokens == one[i].tokens);
        CHECK(batched[i].is_greedy == one[i].is_greedy);
        // relative to the sum: the products' last bits differ with the batch's rows, an f32 ulp or
        // two of a token's log-probability
        worst = std::max(worst, std::abs(batched[i].logprob - one[i].logprob) / (1 + std::abs(one[i].logprob)));
      }
      CHECK(worst <= 1e-6);
      CHECK(one[6].tokens == 0);
    }
  // a pair past the model's positions is named
  std::string longest = "the";
  for (int k = 0; k < 80; ++k) longest += " film";
  CHECK_THROWS_WITH(models::score_continuations(*model, tok, {{"the", " film"}, {longest, " good"}}, 2, false,
                                                {"pairs.jsonl:1", "pairs.jsonl:2"}),
                    Catch::StartsWith("pairs.jsonl:2: score: context and continuation are"));
}
