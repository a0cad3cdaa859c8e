// iapt export --format peft and iapt import: each method's files carry PEFT's key names and config
// fields, and a round trip (train, export, import) scores every pair exactly as the trained run.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/safetensors.h"
#include "core/tensor.h"
#include "tests/experiments/cli_run.h"

namespace fs = std::filesystem;
using namespace iapt::testing;

namespace {

// The summed log-probabilities `iapt score` gives three pairs with a run's adapter.
std::vector<double> scores_with(const fs::path& ws, const fs::path& adapter) {
  Result r = run_cli("score --input " + (ws / "pairs.jsonl").string() + " --adapter " + adapter.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::vector<double> out;
  std::stringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line)["logprob"]);
  return out;
}

}  // namespace

TEST_CASE("peft files: every method's export has PEFT's names and fields, and imports back to the same scores",
          "[experiments][run][peft]") {
  fs::path ws = workspace("peft_files");
  std::ofstream(ws / "pairs.jsonl") << "{\"context\": \"the film was\", \"continuation\": \" good\"}\n"
                                       "{\"context\": \"the plot was dull and the cast\", \"continuation\": \" was bad\"}\n"
                                       "{\"context\": \"the music\", \"continuation\": \" was great\"}\n";
  struct Case {
    std::string method, peft_type, first_key;
  };
  const std::vector<Case> cases{
      {"{name: lora, r: 2, alpha: 8, targets: [q, v]}", "LORA", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"},
      {"{name: prompt_tuning, soft_tokens: 3}", "PROMPT_TUNING", "prompt_embeddings"},
      {"{name: ptuning_v2, soft_tokens: 3}", "PREFIX_TUNING", "prompt_embeddings"},
      // exported as its MLP's output table, as PEFT saves a prefix_projection model
      {"{name: ptuning_v2, soft_tokens: 3, reparameterize: true, reparam_hidden: 8}", "PREFIX_TUNING", "prompt_embeddings"},
      {"{name: ia3}", "IA3", "base_model.model.model.layers.0.mlp.down_proj.ia3_l"},
      {"{name: iapt, soft_tokens: 2, bottleneck: 6, activation: {kind: rational, version: B, degrees: [3, 2]}}", "IAPT",
       "iapt.layers.0.act.denominator"},
  };
  for (const Case& c : cases) {
    INFO(c.method);
    const std::string label = c.peft_type + (c.method.find("reparameterize") != std::string::npos ? "-MLP" : "");
    std::string yaml = config_text(ws, "runs-" + label);
    const size_t at = yaml.find("method: ");
    yaml.replace(at, yaml.find('\n', at) - at, "method: " + c.method);
    std::ofstream(ws / (label + ".yaml")) << yaml;
    Result trained = run_cli("run " + (ws / (label + ".yaml")).string() + " --set training.steps=4");
    INFO(trained.output);
    REQUIRE(trained.exit_code == 0);
    const fs::path run = ws / ("runs-" + label) / "tiny-sst2/seed-3", peft = ws / ("peft-" + label);
    Result exported = run_cli("export --run " + run.string() + " --format peft " + peft.string());
    INFO(exported.output);
    REQUIRE(exported.exit_code == 0);
    const auto config = read_json(peft / "adapter_config.json");
    CHECK(config["peft_type"] == c.peft_type);
    CHECK(config["task_type"] == "CAUSAL_LM");
    const auto file = iapt::load_safetensors((peft / "adapter_model.safetensors").string());
    CHECK(file.tensors.begin()->first == c.first_key);
    CHECK(file.metadata.at("format") == "pt");
    if (c.peft_type == "LORA") {
      CHECK(config["r"] == 2);
      CHECK(config["lora_alpha"] == 8.0);
      CHECK(config["target_modules"] == nlohmann::json({"q_proj", "v_proj"}));
      CHECK(file.tensors.at("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight").shape() ==
            iapt::Shape{16, 2});  // [out: 2 kv heads x 8, r]
    } else if (c.peft_type == "PROMPT_TUNING") {
      CHECK(config["num_virtual_tokens"] == 3);
      CHECK(file.tensors.at("prompt_embeddings").shape() == iapt::Shape{3, 32});
    } else if (c.peft_type == "PREFIX_TUNING") {
      CHECK(config["num_attention_heads"] == 2);  // the key/value heads
      CHECK(config["token_dim"] == 16);
      CHECK(file.tensors.at("prompt_embeddings").shape() == iapt::Shape{3, 2 * 2 * 16});  // [k, layers x (k, v) x kv]
    } else if (c.peft_type == "IA3") {
      CHECK(config["feedforward_modules"] == nlohmann::json({"down_proj"}));
      CHECK(file.tensors.at("base_model.model.model.layers.0.self_attn.k_proj.ia3_l").shape() == iapt::Shape{16, 1});
      CHECK(file.tensors.at("base_model.model.model.layers.0.mlp.down_proj.ia3_l").shape() == iapt::Shape{1, 48});
    }
    const fs::path imported = ws / ("imported-" + label);
    Result back = run_cli("import " + peft.string() + " --config " + (ws / (label + ".yaml")).string() + " " +
                          imported.string());
    INFO(back.output);
    REQUIRE(back.exit_code == 0);
    CHECK(scores_with(ws, run) == scores_with(ws, imported));  // the same weights: the same numbers, exactly
  }
  // what iapt cannot take is refused, naming the field
  fs::create_directories(ws / "dora");
  fs::copy_file(ws / "peft-LORA/adapter_model.safetensors", ws / "dora/adapter_model.safetensors");
  auto lora = read_json(ws / "peft-LORA/adapter_config.json");
  lora["use_dora"] = true;
  std::ofstream(ws / "dora/adapter_config.json") << lora.dump();
  expect_refused(run_cli("import " + (ws / "dora").string() + " --config " + (ws / "LORA.yaml").string() + " " +
                         (ws / "out-dora").string()),
                 "adapter_config.json: use_dora: iapt's LORA does not take that");
  lora["use_dora"] = false;
  lora["peft_type"] = "LOHA";
  std::ofstream(ws / "dora/adapter_config.json") << lora.dump();
  Result loha = run_cli("import " + (ws / "dora").string() + " --config " + (ws / "LORA.yaml").string() + " " +
                        (ws / "out-loha").string());
  CHECK(loha.output.find("peft_type 'LOHA' is not one iapt reads") != std::string::npos);
  // weights that do not fit the experiment's backbone are refused and leave no adapter behind
  fs::create_directories(ws / "misfit");
  fs::copy_file(ws / "peft-PROMPT_TUNING/adapter_config.json", ws / "misfit/adapter_config.json");
  iapt::save_safetensors((ws / "misfit/adapter_model.safetensors").string(),
                         {{"prompt_embeddings", iapt::zeros({3, 31})}});  // the backbone's width is 32
  expect_refused(run_cli("import " + (ws / "misfit").string() + " --config " + (ws / "LORA.yaml").string() + " " +
                         (ws / "out-misfit").string()),
                 "does not fit the backbone of");
  CHECK_FALSE(fs::exists(ws / "out-misfit/best/adapter.safetensors"));
}
