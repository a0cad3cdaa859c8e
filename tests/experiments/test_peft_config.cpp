#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "experiments/config/peft_config.h"

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
  config::MethodSpec full;
  full.name = "full";
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
}
