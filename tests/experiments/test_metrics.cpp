#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

#include "experiments/metrics.h"
#include "experiments/run/paired.h"

using namespace iapt;

TEST_CASE("metrics: accuracy, F1 and Matthews correlation on a worked example", "[experiments][metrics]") {
  // tp = 3, fp = 1, fn = 2, tn = 4
  std::vector<std::string> gold{"1", "1", "1", "1", "1", "0", "0", "0", "0", "0"};
  std::vector<std::string> pred{"1", "1", "1", "0", "0", "1", "0", "0", "0", "0"};
  CHECK(metrics::accuracy(pred, gold) == Approx(0.7));
  CHECK(metrics::f1(pred, gold, "1") == Approx(2.0 * 3 / (2 * 3 + 1 + 2)));
  CHECK(metrics::matthews(pred, gold, "1") == Approx((3.0 * 4 - 1 * 2) / std::sqrt(4.0 * 5 * 5 * 6)));
  CHECK(metrics::matthews(gold, gold, "1") == Approx(1.0));
  CHECK(metrics::matthews(std::vector<std::string>(10, "1"), gold, "1") == 0.0);  // constant prediction
  CHECK_THROWS(metrics::accuracy({"1"}, {"1", "0"}));
}

TEST_CASE("metrics: Pearson and Spearman, ties included", "[experiments][metrics]") {
  std::vector<double> x{1, 2, 3, 4, 5}, y{2, 4, 6, 8, 10};
  CHECK(metrics::pearson(x, y) == Approx(1.0));
  CHECK(metrics::pearson(x, {5, 4, 3, 2, 1}) == Approx(-1.0));
  // monotone but not linear: Spearman 1, Pearson below 1
  std::vector<double> z{1, 4, 9, 16, 100};
  CHECK(metrics::spearman(x, z) == Approx(1.0));
  CHECK(metrics::pearson(x, z) < 0.95);
  // ties take their mean rank: ranks of {1, 2, 2, 3} are {1, 2.5, 2.5, 4}
  CHECK(metrics::spearman({1, 2, 2, 3}, {1, 2.5, 2.5, 4}) == Approx(1.0));
  CHECK(metrics::spearman({1, 2, 2, 3}, {1, 2, 3, 4}) == Approx(0.9486832981));  // mean ranks, not positions
  CHECK(metrics::spearman({1, 2, 3, 4}, {1, 3, 2, 4}) == Approx(0.8));
}

TEST_CASE("metrics: exact match and token F1 after SQuAD normalisation", "[experiments][metrics]") {
  CHECK(metrics::normalize_answer("The  Eiffel Tower!") == "eiffel tower");
  CHECK(metrics::exact_match({"the Eiffel tower", "Paris"}, {"Eiffel Tower.", "London"}) == Approx(0.5));
  // "big red dog" vs "red dog": precision 2/3, recall 1 -> 0.8
  CHECK(metrics::token_f1({"big red dog"}, {"a red dog"}) == Approx(0.8));
  CHECK(metrics::token_f1({""}, {""}) == Approx(1.0));
  CHECK(metrics::token_f1({"cat"}, {"dog"}) == Approx(0.0));
}

TEST_CASE("metrics: MultiRC's exact match counts a question only when all its answers are right", "[experiments][metrics]") {
  // question q1: 2 of 2 right; q2: 1 of 2 right; q3: 1 of 1 right -> 2 of 3 questions
  const std::vector<std::string> p{"yes", "no", "yes", "yes", "no"}, g{"yes", "no", "yes", "no", "no"},
      groups{"1/0", "1/0", "1/1", "1/1", "2/0"};
  CHECK(metrics::group_exact_match(p, g, groups) == Approx(2.0 / 3.0));
  CHECK(metrics::accuracy(p, g) == Approx(0.8));
  CHECK_THROWS_WITH(metrics::group_exact_match(p, g, {"1/0"}), Catch::Contains("1 groups for 5 predictions"));
}

TEST_CASE("metrics: with several accepted answers, each prediction scores its best match", "[experiments][metrics]") {
  const std::vector<std::string> p{"Barack Obama", "the Senate", "Paris"};
  const std::vector<std::vector<std::string>> answers{{"Obama", "Barack Obama"}, {"Congress"}, {"London", "Rome"}};
  CHECK(metrics::best_exact_match(p, answers) == Approx(1.0 / 3.0));
  // "Barack Obama" 1; "the Senate" vs "Congress" 0 ("the" is dropped); "Paris" 0
  CHECK(metrics::best_token_f1(p, answers) == Approx(1.0 / 3.0));
  CHECK(metrics::best_token_f1({"Obama"}, {{"Barack Obama", "Michelle Obama"}}) == Approx(2.0 / 3.0));
  // one answer each is the single-reference metric
  CHECK(metrics::best_exact_match({"a", "b"}, {{"a"}, {"c"}}) == metrics::exact_match({"a", "b"}, std::vector<std::string>{"a", "c"}));
  CHECK_THROWS_WITH(metrics::best_exact_match({"a"}, {{}}), Catch::Contains("prediction 0 has no accepted answer"));
}

TEST_CASE("paired: the sign-flip permutation test is exact for small samples", "[experiments][paired]") {
  // five positive differences: only all-positive and all-negative are as extreme, 2 of 32
  auto t = run::sign_flip_test({0.1, 0.2, 0.05, 0.3, 0.1});
  CHECK(t.n == 5);
  CHECK(t.wins == 5);
  CHECK(t.mean_difference == Approx(0.15));
  CHECK(t.p_value == Approx(2.0 / 32));
  // symmetric differences: every assignment is at least as extreme as a zero sum
  CHECK(run::sign_flip_test({0.1, -0.1}).p_value == Approx(1.0));
  // one large loss among small wins: the p-value is the share of the 16 assignments at least as extreme
  const std::vector<double> d{0.1, 0.1, 0.1, -0.9};
  int extreme = 0;
  for (int s = 0; s < 16; ++s) {
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += (s >> i & 1) ? -d[i] : d[i];
    extreme += std::abs(sum) >= 0.6 - 1e-12;
  }
  CHECK(run::sign_flip_test(d).p_value == Approx(extreme / 16.0));
  // past 20 pairs the test samples: a strong effect still gives a small p
  std::vector<double> many(30, 0.05);
  CHECK(run::sign_flip_test(many).p_value < 1e-4);
}

TEST_CASE("paired: examples as the unit average each example's correctness over the matched seeds", "[experiments][paired]") {
  namespace fs = std::filesystem;
  const fs::path sweep = fs::temp_directory_path() / fmt::format("iapt_paired_examples_{}", static_cast<long>(getpid()));
  fs::remove_all(sweep);
  // a's and b's predictions on three test examples (gold x, x, y), two seeds each; b has a third seed
  // that a lacks, which is left out
  auto write_run = [&](const std::string& label, int seed, const std::vector<std::string>& predictions) {
    const fs::path run = sweep / label / fmt::format("seed-{}", seed);
    fs::create_directories(run / "predictions");
    std::ofstream(run / "summary.json") << R"({"dev_metric": "accuracy", "split_seed": 1, "test": {"accuracy": 0.5}})";
    std::ofstream out(run / "predictions/test.jsonl");
    const char* gold[] = {"x", "x", "y"};
    for (size_t i = 0; i < predictions.size(); ++i)
      out << fmt::format(R"({{"id": "t:{}", "gold": "{}", "prediction": "{}"}})", i, gold[i], predictions[i]) << "\n";
  };
  write_run("a", 1, {"x", "x", "x"});  // right, right, wrong
  write_run("a", 2, {"x", "y", "y"});  // right, wrong, right
  write_run("b", 1, {"y", "x", "x"});  // wrong, right, wrong
  write_run("b", 2, {"y", "x", "x"});
  write_run("b", 3, {"x", "x", "y"});
  const auto ex = run::match_examples({sweep.string()}, "a", "b", "test");
  REQUIRE(ex.differences.size() == 3);
  CHECK(ex.seeds == std::vector<int>{2});
  CHECK(ex.examples == std::vector<int>{3});
  CHECK(ex.differences[0] == Approx(1.0));   // a right twice, b never
  CHECK(ex.differences[1] == Approx(-0.5));  // a once, b twice
  CHECK(ex.differences[2] == Approx(0.5));   // a once, b never
  CHECK(ex.a[0] == Approx(4.0 / 6));
  CHECK(ex.b[0] == Approx(2.0 / 6));
  // B's runs from another sweep folder (a follow-up sweep against an earlier one's runs): the same pairs
  fs::create_directories(sweep.string() + "-earlier");
  fs::rename(sweep / "b", fs::path(sweep.string() + "-earlier") / "b");
  CHECK_THROWS_WITH(run::match_examples({sweep.string()}, "a", "b", "test"), Catch::Contains("no configuration 'b'"));
  const auto moved = run::match_examples({sweep.string()}, "a", "b", "test", {sweep.string() + "-earlier"});
  CHECK(moved.differences == ex.differences);
  const auto by_seed = run::match_runs({sweep.string()}, "a", "b", "test", {sweep.string() + "-earlier"});
  CHECK(by_seed.pairs.size() == 2);
  CHECK_THROWS_WITH(run::match_runs({sweep.string()}, "a", "b", "test", {"x", "y"}),
                    Catch::Contains("1 sweeps but 2 folders for B's runs"));
  fs::rename(fs::path(sweep.string() + "-earlier") / "b", sweep / "b");
  fs::remove_all(sweep.string() + "-earlier");
  // a run whose predictions cover other examples is refused
  std::ofstream(sweep / "b/seed-2/predictions/test.jsonl") << R"({"id": "t:9", "gold": "x", "prediction": "x"})" << "\n"
                                                             << R"({"id": "t:1", "gold": "x", "prediction": "x"})" << "\n"
                                                             << R"({"id": "t:2", "gold": "y", "prediction": "x"})" << "\n";
  CHECK_THROWS_WITH(run::match_examples({sweep.string()}, "a", "b", "test"), Catch::Contains("example t:0 is in"));
  fs::remove_all(sweep);
}
