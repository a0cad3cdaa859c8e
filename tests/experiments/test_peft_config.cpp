#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/ops.h"
#include "experiments/config/peft_config.h"
#include "nn/peft/iapt.h"
#include "nn/peft/prompts.h"
#include "nn/peft/ptuning_v2.h"

using namespace iapt;

namespace {
std::string write_yaml(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / "iapt_tests";
  std::filesystem::create_directories(p);
  p /= name;
  std::ofstream(p) << text;
  return p.string();
}
const std::string kConfigs = IAPT_SOURCE_DIR "/experiments/configs/params/";
}  // namespace

TEST_CASE("params: the paper's counts on the LLaMA-2 7B shape", "[experiments][params]") {
  auto iapt = config::load_peft_config(kConfigs + "llama2-7b-iapt.yaml");
  CHECK(config::tunable_parameters(iapt.backbone.config, iapt.method) == 83927424);
  auto lora = config::load_peft_config(kConfigs + "llama2-7b-lora.yaml");
  CHECK(config::tunable_parameters(lora.backbone.config, lora.method) == 19988480);
  CHECK(config::backbone_parameters(config::named_shape("llama-2-7b")) == 6738415616);
  config::MethodSpec full = config::method_defaults("full");
  CHECK(config::tunable_parameters(config::named_shape("llama-2-7b"), full) == 6738415616);
}

TEST_CASE("params: config errors give file, line, column and key", "[experiments][params]") {
  auto typo = write_yaml("typo.yaml", "backbone:\n  shape: llama-2-7b\nmethod:\n  name: iapt\n  bottlenek: 32\n");
  CHECK_THROWS_WITH(config::load_peft_config(typo),
                    Catch::Contains("typo.yaml:5:3: unknown key 'method.bottlenek' (did you mean 'bottleneck'?)"));
  auto type = write_yaml("type.yaml", "backbone:\n  shape: llama-2-7b\nmethod:\n  name: iapt\n  soft_tokens: four\n");
  CHECK_THROWS_WITH(config::load_peft_config(type),
                    Catch::Contains("type.yaml:5:16: method.soft_tokens: expected an integer, got 'four'"));
  auto choice = write_yaml("choice.yaml", "backbone: {shape: llama-2-7b}\nmethod: {name: iapt, pooler: avg}\n");
  CHECK_THROWS_WITH(config::load_peft_config(choice), Catch::Contains("method.pooler: 'avg' is not one of"));
  auto shape = write_yaml("shape.yaml", "backbone: {shape: llama-3-8b}\nmethod: {name: full}\n");
  CHECK_THROWS_WITH(config::load_peft_config(shape), Catch::Contains("unknown backbone shape 'llama-3-8b'"));
  auto inline_shape = write_yaml("inline.yaml",
                                 "backbone:\n  shape: {vocab_size: 100, hidden_size: 16, intermediate_size: 32,\n"
                                 "          num_hidden_layers: 2, num_attention_heads: 4}\nmethod: {name: lora, r: 2}\n");
  auto c = config::load_peft_config(inline_shape);
  CHECK(config::tunable_parameters(c.backbone.config, c.method) == 2 * 2 * (32 + 32));  // q and v by default
}

TEST_CASE("params: environment variables in paths", "[experiments][params]") {
  setenv("IAPT_TEST_ROOT", "/some/where", 1);
  CHECK(config::expand_env("${IAPT_TEST_ROOT}/models/x", "here") == "/some/where/models/x");
  CHECK_THROWS_WITH(config::expand_env("${IAPT_NOT_SET_ANYWHERE}/m", "cfg.yaml: backbone.path"),
                    Catch::Contains("cfg.yaml: backbone.path: environment variable IAPT_NOT_SET_ANYWHERE is not set"));
  // Relative paths in a file are the file's; a relative variable is the working directory's.
  const auto cwd = std::filesystem::current_path();
  CHECK(config::config_path("data", "/cfg/dir/a.yaml", "task.data_dir") == "/cfg/dir/data");
  setenv("IAPT_TEST_ROOT", "runs/main", 1);
  CHECK(config::config_path("${IAPT_TEST_ROOT}/data", "/cfg/dir/a.yaml", "task.data_dir") ==
        (cwd / "runs/main/data").lexically_normal().string());
  setenv("IAPT_TEST_ROOT", "/abs", 1);
  CHECK(config::config_path("${IAPT_TEST_ROOT}/data", "/cfg/dir/a.yaml", "task.data_dir") == "/abs/data");
}

TEST_CASE("params: how each method starts is a YAML choice", "[experiments][params]") {
  const std::string shape = "backbone:\n  shape: {vocab_size: 50, hidden_size: 16, intermediate_size: 32,\n"
                            "          num_hidden_layers: 2, num_attention_heads: 4}\n";
  auto model = std::make_shared<models::LlamaForCausalLM>(
      config::load_peft_config(write_yaml("shape-only.yaml", shape + "method: {name: full}\n")).backbone.config,
      DType::F32);
  auto make = [&](const std::string& method) {
    auto c = config::load_peft_config(write_yaml("start.yaml", shape + "method: " + method + "\n"));
    return config::make_method(c.method, model);
  };
  auto stats = [](const Tensor& t) {  // mean and largest magnitude
    const auto v = t.to_vector();
    double mean = 0, top = 0;
    for (double x : v) mean += x / static_cast<double>(v.size()), top = std::max(top, std::abs(x));
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size());
    return std::pair{std::sqrt(var), top};
  };
  {  // zero up-projections, zero queries: soft tokens are zero vectors and pooling starts as the mean
    auto m = std::dynamic_pointer_cast<nn::Iapt>(make("{name: iapt, bottleneck: 8, start: {up: zero, query: zero}}"));
    REQUIRE(m);
    for (auto& [l, g] : m->generators) {
      CHECK(stats(g->up->weight.data()).second == 0);
      CHECK(stats(g->pool->query.data()).second == 0);
      CHECK(stats(g->down->weight.data()).second > 0);
    }
  }
  {  // a small normal start
    auto m = std::dynamic_pointer_cast<nn::Iapt>(make("{name: iapt, bottleneck: 64, start: {up: normal, up_std: 0.01}}"));
    CHECK(stats(m->generators.at(0)->up->weight.data()).first == Approx(0.01).epsilon(0.1));
  }
  {  // the default keeps Linear's uniform start: within +-1/sqrt(m)
    auto m = std::dynamic_pointer_cast<nn::Iapt>(make("{name: iapt, bottleneck: 64}"));
    const auto [std, top] = stats(m->generators.at(0)->up->weight.data());
    CHECK(top <= 1.0 / 8 + 1e-7);
    CHECK(std == Approx(1.0 / 8 / std::sqrt(3.0)).epsilon(0.1));
  }
  auto pt = std::dynamic_pointer_cast<nn::PtuningV2>(make("{name: ptuning_v2, soft_tokens: 2, start: {prefix: zero}}"));
  CHECK(stats(pt->embedding.data()).second == 0);
  auto idpg = std::dynamic_pointer_cast<nn::Idpg>(make("{name: idpg, soft_tokens: 2, bottleneck: 4, start: {up: zero}}"));
  CHECK(stats(idpg->up->weight.data()).second == 0);
  auto prompt = std::dynamic_pointer_cast<nn::PromptTuning>(
      make("{name: prompt_tuning, soft_tokens: 64, start: {embedding: random, embedding_std: 0.5}}"));
  CHECK(stats(prompt->embedding.data()).first == Approx(0.5).epsilon(0.15));
  CHECK_THROWS_WITH(make("{name: iapt, start: {up: ones}}"), Catch::Contains("method.start.up: 'ones' is not one of"));
  CHECK_THROWS_WITH(make("{name: iapt, start: {up: normal, up_std: -1}}"),
                    Catch::Contains("method.start.up_std: expected a number above 0, got -1"));
}

TEST_CASE("iapt: the pooler's entropy is 1 for uniform attention and falls as attention sharpens", "[nn][iapt]") {
  nn::Pooler pool(nn::PoolerKind::Attention, 2, 3);
  pool.query.data().copy_(zeros({2, 3}));
  Tensor z = randn({2, 5, 3});
  Tensor mask = from_ints({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 5});
  double entropy = -1;
  pool.forward(Variable(z), mask, &entropy);
  CHECK(entropy == Approx(1.0));
  pool.query.data().copy_(ops::mul_scalar(randn({2, 3}), 50.0));
  pool.forward(Variable(z), mask, &entropy);
  CHECK(entropy < 0.9);
  CHECK(entropy >= 0);
}
